import type { Database } from "@bump/db";
import { catalog, type cleanupData, defineQueue, type Queue, type QueueDefinition } from "@bump/jobs";
import type { RedisClient as Redis } from "@bump/streams";
import { streamKeys, streamNames, trimAcked } from "@bump/streams";
import type { z } from "zod";

/** Data of a `cleanup` job. */
export type CleanupData = z.infer<typeof cleanupData>;

/** What one cleanup run did. */
export interface CleanupResult {
  locationsDeleted: number;
  entriesTrimmed: number;
}

/** Dependencies of the `cleanup` queue. */
export interface CleanupDeps {
  redis: Redis;
  sql: Database["sql"];
  /** Every queue whose expired job records are removed; also where the next run is scheduled. */
  queues: () => readonly Queue[];
  /** The cleanup queue itself. */
  self: () => Queue;
  /** Run every this many ms. Default 300,000. */
  everyMs?: number;
  /** Location history older than this is deleted, ms. Default 30 days. */
  historyRetentionMs?: number;
  /** Bus stream namespace (tests). Default none. */
  ns?: string;
}

/**
 * Enqueues the cleanup run of the period `now` falls in (period = floor(now / everyMs)), due at the period's
 * start. The idempotency key is the period, so any number of workers scheduling it yields one run.
 */
export async function scheduleCleanup(queue: Queue, everyMs: number, now = Date.now()): Promise<string> {
  const period = Math.floor(now / everyMs);
  const { jobId } = await queue.add(
    { period },
    { idempotencyKey: `period:${period}`, delayMs: Math.max(0, period * everyMs - Date.now()), priority: "low" },
  );
  return jobId;
}

/**
 * The `cleanup` queue: deletes location history past retention (in pages), trims acked entries of the bus
 * streams, applies job-record retention to every queue, then schedules the next period's run.
 */
export function cleanupQueue(deps: CleanupDeps): QueueDefinition<CleanupData, CleanupResult> {
  const everyMs = deps.everyMs ?? 300_000;
  const retention = deps.historyRetentionMs ?? 30 * 86_400_000;
  return defineQueue({
    ...catalog.cleanup,
    handler: async (job, ctx) => {
      const cut = new Date(Date.now() - retention).toISOString();
      let locationsDeleted = 0;
      for (;;) {
        ctx.signal.throwIfAborted();
        const rows = await deps.sql`
          delete from locations where id in (
            select id from locations where recorded_at < ${cut}::timestamptz limit 5000)`;
        locationsDeleted += rows.count;
        if (rows.count < 5000) break;
      }
      await ctx.progress(40);
      let entriesTrimmed = 0;
      for (const name of Object.values(streamNames)) {
        entriesTrimmed += await trimAcked(deps.redis, streamKeys(name, deps.ns ? { ns: deps.ns } : {}));
      }
      await ctx.progress(70);
      for (const q of deps.queues()) await q.trim();
      const next = Math.max(job.data.period, Math.floor(Date.now() / everyMs)) + 1;
      await scheduleCleanup(deps.self(), everyMs, next * everyMs);
      return { locationsDeleted, entriesTrimmed };
    },
  });
}
