import type { RawEntry } from "./codec.ts";
import type { RedisClient as Redis } from "./connection.ts";

/** What {@link reclaimPending} looks for. */
export interface ReclaimOptions {
  /** Only entries delivered at least this long ago, ms. */
  idleMs: number;
  /** Only entries pending for this consumer (default: any consumer of the group). */
  owner?: string;
  /** Entries listed per XPENDING round. */
  pageSize: number;
  /** Stops between entries once it returns false. */
  running: () => boolean;
}

type PendingRow = [id: string, consumer: string, idleMs: number, deliveries: number];

/**
 * Takes over, one entry at a time, the entries of `key` that group `group` left pending for `opts.idleMs`, and
 * hands each to `handle` with its delivery count (this claim included). One at a time, so an entry that kills its
 * consumer is the only one whose delivery count grows with each crash: its batch-mates are not dead-lettered with
 * it. An entry claimed meanwhile by another consumer is skipped (its idle time was reset); an entry deleted from
 * the stream leaves the pending list. Resolves with the number handed over.
 */
export async function reclaimPending(
  redis: Redis,
  key: string,
  group: string,
  consumer: string,
  opts: ReclaimOptions,
  handle: (entry: RawEntry, deliveries: number) => Promise<void>,
): Promise<number> {
  let handed = 0;
  for (let round = 0; round < 1_000 && opts.running(); round++) {
    const args: (string | number)[] = ["XPENDING", key, group, "IDLE", opts.idleMs, "-", "+", opts.pageSize];
    if (opts.owner) args.push(opts.owner);
    const rows = (await redis.call(...(args as [string, ...(string | number)[]]))) as PendingRow[];
    for (const [id, , , before] of rows) {
      if (!opts.running()) return handed;
      const claimed = (await redis.call("XCLAIM", key, group, consumer, opts.idleMs, id)) as RawEntry[];
      const entry = claimed[0];
      if (!entry || !Array.isArray(entry[1])) continue;
      handed++;
      await handle(entry, Number(before) + 1);
    }
    if (rows.length < opts.pageSize) break;
  }
  return handed;
}
