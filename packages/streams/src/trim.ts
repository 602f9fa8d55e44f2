import type { RedisClient as Redis } from "./connection.ts";
import type { StreamKeys } from "./keys.ts";
import { groupBacklogs } from "./overload.ts";
import { compareIds, nextId } from "./stream-id.ts";

/** Options of {@link trimAcked}. */
export interface TrimOptions {
  /**
   * Keep at least the entries of this last window even when acked (e.g. for rebuilding state). Default 0. The
   * windows that groups registered in the stream's retention hash are honoured too, whoever trims.
   */
  retainMs?: number;
}

/**
 * Removes entries every group has acked (below the oldest pending entry and the last delivered id of the slowest
 * group), never an unacked one. A stream without groups is left alone. Resolves with the number removed.
 */
export async function trimAcked(redis: Redis, keys: StreamKeys, opts: TrimOptions = {}): Promise<number> {
  const groups = await groupBacklogs(redis, keys.stream);
  if (groups.length === 0) return 0;
  let floor: string | undefined;
  const pipe = redis.pipeline();
  for (const g of groups) pipe.xpending(keys.stream, g.group);
  const summaries = (await pipe.exec()) ?? [];
  groups.forEach((g, i) => {
    const [err, summary] = summaries[i] ?? [null, null];
    if (err) throw err;
    const [count, minPending] = summary as [number, string | null];
    const candidate = count > 0 && minPending ? minPending : nextId(g.lastDeliveredId);
    if (!floor || compareIds(candidate, floor) < 0) floor = candidate;
  });
  if (!floor) return 0;
  const registered = (await redis.hvals(keys.retention)).map(Number).filter(Number.isFinite);
  const retainMs = Math.max(opts.retainMs ?? 0, ...registered);
  if (retainMs > 0) {
    const keep = `${Date.now() - retainMs}-0`;
    if (compareIds(keep, floor) < 0) floor = keep;
  }
  return Number(await redis.call("XTRIM", keys.stream, "MINID", "~", floor));
}
