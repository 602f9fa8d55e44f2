import { field, type RawEntry } from "./codec.ts";
import type { RedisClient as Redis } from "./connection.ts";
import type { StreamKeys } from "./keys.ts";
import { withScripts } from "./scripts.ts";

/** A dead letter: an entry a group gave up on. */
export interface DeadLetter {
  /** Id in the dead-letter stream; pass it to {@link replayDeadLetters}. */
  id: string;
  /** Id of the entry in the shared stream. */
  originalId: string;
  group: string;
  error: string;
  attempts: number;
  /** When it was dead-lettered, ms since the epoch. */
  at: number;
  /** The payload as stored (JSON text). */
  payload: string;
}

function toDeadLetter([id, f]: RawEntry): DeadLetter {
  return {
    id,
    originalId: field(f, "o") ?? "",
    group: field(f, "g") ?? "",
    error: field(f, "e") ?? "",
    attempts: Number(field(f, "a") ?? 0),
    at: Number(field(f, "t") ?? 0),
    payload: field(f, "d") ?? "",
  };
}

/** Lists dead letters, newest first. */
export async function listDeadLetters(redis: Redis, keys: StreamKeys, limit = 100): Promise<DeadLetter[]> {
  const rows = (await redis.xrevrange(keys.dlq, "+", "-", "COUNT", limit)) as RawEntry[];
  return rows.map(toDeadLetter);
}

/**
 * Hands dead letters back to the group that buried each, with fresh attempts (never to the shared stream, where
 * every other group would see them again). Without `ids`, replays up to `limit` (default 1000), oldest first.
 * Resolves with the number replayed; replaying an id twice replays it once.
 */
export async function replayDeadLetters(
  redis: Redis,
  keys: StreamKeys,
  ids?: readonly string[],
  limit = 1_000,
): Promise<number> {
  const r = withScripts(redis);
  let entries: RawEntry[];
  if (ids) {
    const pipe = redis.pipeline();
    for (const id of ids) pipe.xrange(keys.dlq, id, id);
    entries = ((await pipe.exec()) ?? []).flatMap(([, rows]) => (rows as RawEntry[]) ?? []);
  } else {
    entries = (await redis.xrange(keys.dlq, "-", "+", "COUNT", limit)) as RawEntry[];
  }
  let replayed = 0;
  for (const [id, f] of entries) {
    const group = field(f, "g") ?? "";
    replayed += await r.replayDead(keys.dlq, keys.retryStream(group), id);
  }
  return replayed;
}
