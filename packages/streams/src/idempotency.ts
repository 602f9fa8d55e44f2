import type { RedisClient as Redis } from "./connection.ts";

/**
 * Claims `key` for `ttlSeconds` with `SET NX EX`: resolves true for the first caller only, so an effect guarded by
 * it runs once per id even when at-least-once delivery repeats the message.
 */
export async function claimOnce(redis: Redis, key: string, ttlSeconds: number): Promise<boolean> {
  return (await redis.set(key, "1", "EX", ttlSeconds, "NX")) === "OK";
}
