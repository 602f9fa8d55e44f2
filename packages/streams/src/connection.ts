import { readFileSync } from "node:fs";
import Redis, { Cluster, type ClusterOptions, type RedisOptions } from "ioredis";
import { keySlot } from "./slot.ts";

/**
 * A connection made by {@link createRedis}: one Redis server, or a Redis Cluster in cluster mode. Both answer every
 * command; a cluster refuses a pipeline, transaction or script whose keys span several slots (see `slot.ts`).
 */
export type RedisClient = Redis | Cluster;

/** What a connection is for; one shared connection per role, not one per component. */
export type ConnectionRole = "commands" | "blocking" | "producer";

/**
 * How to trust the server of a `rediss://` URL. Both are ignored for `redis://` URLs.
 * Default: the system's CA store, with verification of the certificate and host name.
 */
export interface RedisTlsOptions {
  /** Path to a PEM file of the CA(s) that signed the server's certificate (a private or self-signed CA). */
  tlsCaFile?: string | undefined;
  /** Skip verification of the server's certificate. Encrypts but does not authenticate: development only. */
  tlsInsecure?: boolean | undefined;
}

/** Options of {@link createRedis}: ioredis options plus the TLS trust settings. */
export type ConnectionOptions = RedisOptions &
  RedisTlsOptions & {
    /**
     * Told of connection errors (refused credentials, untrusted certificate, unreachable server): each distinct
     * message once until the connection is ready again, so an outage is reported once, not once per reconnect. Default: errors are only seen as rejected commands.
     */
    onConnectionError?: ((error: Error) => void) | undefined;
    /**
     * Connect to a Redis Cluster, `url` being one seed node (the others are discovered); the password, ACL user and
     * TLS of `url` apply to every node. Also turned on by `?cluster=1` on the URL. Default false (one server).
     */
    cluster?: boolean | undefined;
  };

/**
 * Opens an ioredis connection to `url`: `redis://[user:password@]host:port[/db]`, or `rediss://...` for TLS.
 * A password alone authenticates as the default user; `user:password` as an ACL user.
 * - `commands`: queued while reconnecting, retried.
 * - `producer`: fails fast while Redis is unreachable, so an edge can answer 503 at once instead of hanging.
 * - `blocking`: for XREAD/XREADGROUP BLOCK loops; reconnects forever.
 * Every role reconnects on its own with capped backoff. Connection errors (unreachable, refused credentials,
 * untrusted certificate) reach callers as rejected commands; the connection's `error` event is consumed so that an
 * outage is not also printed once per reconnect attempt.
 */
export function createRedis(
  url: string,
  role: ConnectionRole = "commands",
  options: ConnectionOptions = {},
): RedisClient {
  const { tlsCaFile, tlsInsecure, onConnectionError, cluster, ...extra } = options;
  const fastFail = role === "producer";
  const retry = (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2_000);
  const perNode = {
    connectionName: `bump:${role}`,
    maxRetriesPerRequest: fastFail ? 0 : role === "blocking" ? null : 20,
    connectTimeout: 2_000,
    reconnectOnError: (err: Error) => err.message.startsWith("READONLY") || err.message.startsWith("LOADING"),
    ...tlsOptions(url, { tlsCaFile, tlsInsecure }),
  } satisfies RedisOptions;
  const redis: RedisClient =
    (cluster ?? clusterRequested(url))
      ? new Cluster([seedNode(url)], {
          lazyConnect: false,
          enableOfflineQueue: !fastFail,
          clusterRetryStrategy: retry,
          // The slot table is fetched on connect, and a failed first connect rejects every queued command (ioredis
          // flushes its offline queue), so a loaded machine gets more time than the defaults of 1 s and 2 s.
          slotsRefreshTimeout: 10_000,
          redisOptions: { ...perNode, connectTimeout: 10_000, ...credentials(url), ...extra },
        } satisfies ClusterOptions)
      : new Redis(stripClusterFlag(url), {
          ...perNode,
          lazyConnect: false,
          enableOfflineQueue: !fastFail,
          retryStrategy: retry,
          ...extra,
        });
  const reported = new Set<string>();
  redis.on("error", (err: Error) => {
    if (reported.has(err.message) || reported.size >= 16) return;
    reported.add(err.message);
    onConnectionError?.(err);
  });
  redis.on("ready", () => reported.clear());
  return redis;
}

/** True when `url` carries `cluster=1` (or `true`) in its query. */
function clusterRequested(url: string): boolean {
  const flag = new URL(url).searchParams.get("cluster");
  return flag === "1" || flag === "true";
}

/** `url` without its `cluster` query parameter (ioredis would take it for an option). */
function stripClusterFlag(url: string): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has("cluster")) return url;
  parsed.searchParams.delete("cluster");
  return parsed.toString();
}

/** The seed node of a cluster URL. */
function seedNode(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname || "127.0.0.1", port: Number(parsed.port || 6379) };
}

/** The user and password of `url` (decoded, as ioredis reads them), applied to every node of a cluster. */
function credentials(url: string): Pick<RedisOptions, "username" | "password"> {
  const parsed = new URL(url);
  const out: Pick<RedisOptions, "username" | "password"> = {};
  if (parsed.username) out.username = decodeURIComponent(parsed.username);
  if (parsed.password) out.password = decodeURIComponent(parsed.password);
  return out;
}

/** True when `redis` is a Redis Cluster connection. */
export function isCluster(redis: RedisClient): redis is Cluster {
  return redis instanceof Cluster;
}

/**
 * The servers that hold data: every master of a cluster (as last discovered), or the one server. For commands that
 * only see one node's keys (SCAN, KEYS, DBSIZE, INFO).
 */
export function masters(redis: RedisClient): Redis[] {
  return isCluster(redis) ? redis.nodes("master") : [redis];
}

/**
 * Every key matching `pattern`, in batches, walking SCAN on each master in turn (a cluster node's SCAN sees only
 * its own keys). A key may be yielded twice if it moves between nodes during the walk.
 */
export async function* scanKeys(redis: RedisClient, pattern: string, count = 1_000): AsyncGenerator<string[]> {
  for (const node of masters(redis)) {
    let cursor = "0";
    do {
      const [next, batch] = await node.scan(cursor, "MATCH", pattern, "COUNT", count);
      cursor = next;
      if (batch.length) yield batch;
    } while (cursor !== "0");
  }
}

/**
 * The server connection of `redis` that serves `key`'s slot (the connection itself on one server), for commands that
 * must reach that very server and connection, such as CLIENT ID of a blocked reader and the CLIENT UNBLOCK of it.
 */
export async function nodeFor(redis: RedisClient, key: string): Promise<Redis> {
  if (!isCluster(redis)) return redis;
  const slot = keySlot(key);
  if (!redis.slots[slot]?.length) await redis.ping();
  const owner = redis.slots[slot]?.[0];
  const nodes = redis.nodes("master");
  const node = nodes.find((n) => `${n.options.host}:${n.options.port}` === owner) ?? nodes[0];
  if (!node) throw new Error("no Redis Cluster master known");
  return node;
}

/**
 * A second connection like `redis` for blocking reads (XREADGROUP BLOCK): retried forever, queued while offline.
 * The caller owns it and disconnects it.
 */
export function duplicateForBlocking(redis: RedisClient): RedisClient {
  if (!isCluster(redis)) return redis.duplicate({ maxRetriesPerRequest: null, enableOfflineQueue: true });
  return redis.duplicate([], {
    enableOfflineQueue: true,
    redisOptions: { ...redis.options.redisOptions, maxRetriesPerRequest: null },
  });
}

/** The ioredis `tls` option for `url`: none for `redis://`, the configured trust for `rediss://`. */
function tlsOptions(url: string, trust: RedisTlsOptions): RedisOptions {
  if (!url.startsWith("rediss://")) return {};
  const tls: NonNullable<RedisOptions["tls"]> = {};
  if (trust.tlsCaFile) tls.ca = readFileSync(trust.tlsCaFile);
  if (trust.tlsInsecure) tls.rejectUnauthorized = false;
  return { tls };
}

/** True when `redis` answers PING within its command timeout. */
export async function redisAnswers(redis: RedisClient): Promise<boolean> {
  try {
    return (await redis.ping()) === "PONG";
  } catch {
    return false;
  }
}
