import Redis, { type RedisOptions } from "ioredis";

/** What a connection is for; one shared connection per role, not one per component. */
export type ConnectionRole = "commands" | "blocking" | "producer";

/**
 * Opens an ioredis connection to `url` (redis:// or rediss://, with password or ACL user in the URL).
 * - `commands`: queued while reconnecting, retried.
 * - `producer`: fails fast while Redis is unreachable, so an edge can answer 503 at once instead of hanging.
 * - `blocking`: for XREAD/XREADGROUP BLOCK loops; reconnects forever.
 * Every role reconnects on its own with capped backoff. Connection errors reach callers as rejected commands; the
 * connection's `error` event is consumed so that an outage is not also printed once per reconnect attempt.
 */
export function createRedis(url: string, role: ConnectionRole = "commands", extra: RedisOptions = {}): Redis {
  const fastFail = role === "producer";
  const redis = new Redis(url, {
    connectionName: `bump:${role}`,
    lazyConnect: false,
    enableOfflineQueue: !fastFail,
    maxRetriesPerRequest: fastFail ? 0 : role === "blocking" ? null : 20,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
    reconnectOnError: (err) => err.message.startsWith("READONLY") || err.message.startsWith("LOADING"),
    ...extra,
  });
  redis.on("error", () => {});
  return redis;
}

/** True when `redis` answers PING within its command timeout. */
export async function redisAnswers(redis: Redis): Promise<boolean> {
  try {
    return (await redis.ping()) === "PONG";
  } catch {
    return false;
  }
}
