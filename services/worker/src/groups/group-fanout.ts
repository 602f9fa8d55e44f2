import type { GroupEvent } from "@bump/contracts";
import { groupEvent } from "@bump/contracts";
import type { Db } from "@bump/db";
import type { Delivery } from "@bump/delivery";
import {
  type BurstOptions,
  encodePlan,
  FANOUT_GROUP,
  type FanoutUnit,
  GroupFanout,
  GroupStore,
  groupMetrics,
  groupsKeys,
  type LargeFanout,
} from "@bump/groups";
import { Queue, QueueWorker } from "@bump/jobs";
import { type Logger, type Registry, silentLogger } from "@bump/service";
import type { RedisClient as Redis } from "@bump/streams";
import { Consumer, type Message } from "@bump/streams";
import { fanoutQueue } from "./fanout-queue.ts";

/** What {@link startGroupFanout} needs. */
export interface GroupFanoutDeps {
  redis: Redis;
  db: Db;
  delivery: Delivery;
  /** Key namespace of the stream, cursors and the `fanout` queue (tests). Default none. */
  ns?: string;
  /** Groups up to this many members are fanned out inline. Default 50. */
  inlineMax?: number;
  burst?: BurstOptions;
  /** Members per chunk of a `fanout` job. Default 1,000. */
  chunk?: number;
  /** Polling of the `fanout` job a drain waits for, ms. Default 20. */
  jobPollMs?: number;
  /** Overrides of the consumer's and queue worker's polling (tests). */
  blockMs?: number;
  registry?: Registry;
  logger?: Logger;
}

/** The running group fan-out of a worker process. */
export interface RunningGroupFanout {
  readonly fanout: GroupFanout;
  /** True while the consumer and the `fanout` queue worker run. */
  isRunning(): boolean;
  /** Stops reading, finishes the drains in flight. Idempotent. */
  close(): Promise<void>;
}

/**
 * Consumes the `groups` stream (group `group-fanout`) and drains each announced group: members of groups up to
 * `inlineMax` get each pass's frames in one delivery round; larger groups get each pass through a `fanout` job run
 * in chunks, which the drain waits for before the next pass (per-group order). A failed drain fails the group's
 * entries, which are retried with backoff; the retry drains from the group's cursor, so nothing is lost or shown
 * twice.
 */
export async function startGroupFanout(deps: GroupFanoutDeps): Promise<RunningGroupFanout> {
  const log = deps.logger ?? silentLogger;
  const keys = groupsKeys(deps.ns);
  const store = new GroupStore(deps.db);
  const metrics = groupMetrics(deps.registry);
  const def = fanoutQueue({ store, delivery: deps.delivery, chunk: deps.chunk, metrics });
  const queueOpts = deps.ns ? { ns: deps.ns } : {};
  const queue = new Queue(deps.redis, def, queueOpts);
  const worker = new QueueWorker(deps.redis, def as never, {
    ...queueOpts,
    ...(deps.blockMs ? { blockMs: deps.blockMs, pollMs: deps.blockMs } : {}),
    registry: deps.registry,
    logger: log,
  });
  const pollMs = deps.jobPollMs ?? 20;
  const large: LargeFanout = async (group, units) => {
    const lo = (units[0] as FanoutUnit).lo;
    const hi = (units[units.length - 1] as FanoutUnit).hi;
    const { jobId } = await queue.add(
      { group_id: group, lo, hi, ...(units.length > 1 ? { plan: encodePlan(units) } : {}) },
      { idempotencyKey: `${group}:${lo}` },
    );
    for (;;) {
      const job = await queue.get(jobId);
      const state = job?.record.state;
      if (state === "completed") return;
      if (state === "failed" || !job) throw new Error(`fanout job ${jobId} ${state ?? "vanished"}`);
      await Bun.sleep(pollMs);
    }
  };
  const fanout = new GroupFanout({
    redis: deps.redis,
    store,
    delivery: deps.delivery,
    keys,
    inlineMax: deps.inlineMax,
    burst: deps.burst,
    large,
    metrics,
    logger: log,
  });
  const consumer = new Consumer<GroupEvent>({
    redis: deps.redis,
    keys: keys.stream,
    group: FANOUT_GROUP,
    schema: groupEvent,
    batchSize: 500,
    ...(deps.blockMs ? { blockMs: deps.blockMs } : {}),
    registry: deps.registry,
    logger: log,
    handler: async (batch) => {
      const byGroup = new Map<string, Message<GroupEvent>[]>();
      for (const m of batch) {
        const list = byGroup.get(m.data.group_id);
        if (list) list.push(m);
        else byGroup.set(m.data.group_id, [m]);
      }
      const failed: { message: Message<GroupEvent>; error: unknown }[] = [];
      await Promise.all(
        [...byGroup].map(async ([group, messages]) => {
          try {
            await fanout.drain(group);
          } catch (error) {
            log.warn("group fan-out failed", { group, err: error });
            for (const message of messages) failed.push({ message, error });
          }
        }),
      );
      return { failed };
    },
  });
  await worker.start();
  await consumer.start();
  let closing: Promise<void> | undefined;
  return {
    fanout,
    isRunning: () => !closing && consumer.isRunning && worker.ready(),
    close: () => {
      closing ??= consumer.close().then(() => worker.close(5_000));
      return closing;
    },
  };
}
