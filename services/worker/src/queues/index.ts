/**
 * The worker's job queues: `broadcast`, `export` and `cleanup` (scheduled), run by {@link startQueues}.
 * Progress and outcomes reach each job's owner as reliable `job` frames.
 */

import type { Database } from "@bump/db";
import type { Delivery } from "@bump/delivery";
import { catalog, type JobNotifier, Queue, type QueueDefinition, QueueWorker } from "@bump/jobs";
import type { Logger, Registry } from "@bump/service";
import type { RedisClient as Redis } from "@bump/streams";
import { broadcastQueue } from "./broadcast.ts";
import { cleanupQueue, scheduleCleanup } from "./cleanup.ts";
import { exportQueue } from "./export.ts";
import { deliveryNotifier } from "./notify.ts";

export { type BroadcastData, broadcastQueue } from "./broadcast.ts";
export { type CleanupData, type CleanupResult, cleanupQueue, scheduleCleanup } from "./cleanup.ts";
export { type ExportData, type ExportResult, exportQueue } from "./export.ts";
export { deliveryNotifier } from "./notify.ts";

/** What {@link startQueues} needs. */
export interface QueuesDeps {
  redis: Redis;
  sql: Database["sql"];
  /** Delivers broadcast frames and job updates. */
  delivery: Delivery;
  /** Overrides how job updates reach owners. Default: reliable `job` frames through `delivery`. */
  notify?: JobNotifier;
  /** Key namespace of the queues and bus streams (tests). Default none. */
  ns?: string;
  /** Cleanup period, ms. Default 300,000. */
  cleanupEveryMs?: number;
  /** Location history kept, ms. Default 30 days. */
  historyRetentionMs?: number;
  /** How long a finished export stays downloadable, ms. Default 3,600,000. */
  exportTtlMs?: number;
  /** Overrides of every worker's polling (tests). */
  worker?: { pollMs?: number; blockMs?: number; stalledCheckMs?: number };
  registry?: Registry;
  logger?: Logger;
}

/** The running queues of a worker process. */
export interface RunningQueues {
  /** Producer side of each queue, by name. */
  readonly queues: ReadonlyMap<string, Queue>;
  /** True while every queue worker runs. */
  ready(): boolean;
  /** Stops starting jobs and waits for the runs in flight (aborting them after `abortAfterMs`). Idempotent. */
  close(abortAfterMs?: number): Promise<void>;
}

/** Starts a worker for each built-in queue and schedules the current cleanup period. */
export async function startQueues(deps: QueuesDeps): Promise<RunningQueues> {
  const queueOpts = deps.ns ? { ns: deps.ns } : {};
  const queues = new Map<string, Queue>();
  const everyMs = deps.cleanupEveryMs ?? 300_000;
  const exportProducer = new Queue(deps.redis, catalog.export, queueOpts) as Queue;
  const defs: QueueDefinition<never, unknown>[] = [
    broadcastQueue({ delivery: deps.delivery, sql: deps.sql }),
    exportQueue({ sql: deps.sql, queue: exportProducer, ttlMs: deps.exportTtlMs }),
    cleanupQueue({
      redis: deps.redis,
      sql: deps.sql,
      queues: () => [...queues.values()],
      self: () => queues.get("cleanup") as Queue,
      everyMs,
      historyRetentionMs: deps.historyRetentionMs,
      ns: deps.ns,
    }),
  ] as QueueDefinition<never, unknown>[];
  for (const def of defs) queues.set(def.name, new Queue(deps.redis, def, queueOpts) as Queue);
  const notify = deps.notify ?? deliveryNotifier(deps.delivery);
  const workers = defs.map(
    (def) =>
      new QueueWorker(deps.redis, def as QueueDefinition<unknown, unknown>, {
        ...queueOpts,
        ...deps.worker,
        notify,
        registry: deps.registry,
        logger: deps.logger,
      }),
  );
  if (deps.registry) {
    const gauge = deps.registry.gauge("jobs_queue", "Jobs per queue and state (completed/failed: records kept)", [
      "queue",
      "state",
    ]);
    deps.registry.addCollector(async () => {
      for (const q of queues.values()) {
        const c = await q.counts();
        for (const state of ["waiting", "active", "delayed", "completed", "failed"] as const) {
          gauge.set([q.name, state], c[state]);
        }
        gauge.set([q.name, "paused"], c.paused ? 1 : 0);
      }
    });
  }
  await Promise.all(workers.map((w) => w.start()));
  await scheduleCleanup(queues.get("cleanup") as Queue, everyMs);
  let closing: Promise<void> | undefined;
  return {
    queues,
    ready: () => !closing && workers.every((w) => w.ready()),
    close: (abortAfterMs) => {
      closing ??= Promise.all(workers.map((w) => w.close(abortAfterMs))).then(() => undefined);
      return closing;
    },
  };
}
