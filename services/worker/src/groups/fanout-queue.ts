import type { Delivery } from "@bump/delivery";
import {
  decodePlan,
  deliverChunked,
  type FanoutData,
  fanoutQueueSpec,
  type GroupMetrics,
  type GroupStore,
  splitUnits,
} from "@bump/groups";
import { defineQueue, type QueueDefinition } from "@bump/jobs";

/** Dependencies of the `fanout` queue. */
export interface FanoutQueueDeps {
  store: GroupStore;
  delivery: Delivery;
  /** Members per chunk. Default 1,000. */
  chunk?: number;
  /** Least time between two progress reports of a job, ms (a report is a Redis write). Default 250. */
  progressMs?: number;
  metrics?: GroupMetrics;
}

/**
 * The `fanout` queue: delivers the units of a pass `lo..hi` of a group to every member, chunk by chunk (every unit
 * to a chunk in one round, in order), reporting `{delivered, total}` as progress at most every `progressMs`. A
 * retried job shows each frame once per member (same frame ids).
 */
export function fanoutQueue(deps: FanoutQueueDeps): QueueDefinition<FanoutData, { delivered: number }> {
  return defineQueue({
    ...fanoutQueueSpec,
    handler: async (job, ctx) => {
      const { group_id: group, lo, hi, plan } = job.data;
      const messages = await deps.store.messages(group, lo - 1, hi - lo + 1, hi);
      if (!messages.length) return { delivered: 0 };
      const bounds = plan ? decodePlan(plan) : [{ lo, hi }];
      const total = await deps.store.memberCount(group);
      const every = deps.progressMs ?? 250;
      let reported = Date.now();
      const delivered = await deliverChunked({
        store: deps.store,
        delivery: deps.delivery,
        group,
        units: splitUnits(messages, bounds),
        chunk: deps.chunk,
        signal: ctx.signal,
        onChunk: async (n) => {
          deps.metrics?.chunks.inc();
          if (Date.now() - reported < every) return;
          reported = Date.now();
          await ctx.progress({ delivered: n, total });
        },
      });
      return { delivered };
    },
  });
}
