import { readFileSync } from "node:fs";
import Redis, { type RedisOptions } from "ioredis";

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
export function createRedis(url: string, role: ConnectionRole = "commands", options: ConnectionOptions = {}): Redis {
  const { tlsCaFile, tlsInsecure, onConnectionError, ...extra } = options;
  const fastFail = role === "producer";
  const redis = new Redis(url, {
    connectionName: `bump:${role}`,
    lazyConnect: false,
    enableOfflineQueue: !fastFail,
    maxRetriesPerRequest: fastFail ? 0 : role === "blocking" ? null : 20,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
    reconnectOnError: (err) => err.message.startsWith("READONLY") || err.message.startsWith("LOADING"),
    ...tlsOptions(url, { tlsCaFile, tlsInsecure }),
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

/** The ioredis `tls` option for `url`: none for `redis://`, the configured trust for `rediss://`. */
function tlsOptions(url: string, trust: RedisTlsOptions): RedisOptions {
  if (!url.startsWith("rediss://")) return {};
  const tls: NonNullable<RedisOptions["tls"]> = {};
  if (trust.tlsCaFile) tls.ca = readFileSync(trust.tlsCaFile);
  if (trust.tlsInsecure) tls.rejectUnauthorized = false;
  return { tls };
}

/** True when `redis` answers PING within its command timeout. */
export async function redisAnswers(redis: Redis): Promise<boolean> {
  try {
    return (await redis.ping()) === "PONG";
  } catch {
    return false;
  }
}
