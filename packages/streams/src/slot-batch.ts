import type { ChainableCommander, Cluster } from "ioredis";
import { isCluster, type RedisClient } from "./connection.ts";
import { keySlot } from "./slot.ts";

/** A reply of a pipelined command: its error or its result. */
export type PipelineReply = [Error | null, unknown];

/**
 * A pipeline that may touch keys of many slots. On one server it is one pipeline. On a cluster, commands are queued
 * on one pipeline per master (as the slot table stands when queued), sent at once, so that no pipeline spans
 * nodes; a script or multi-key command must still keep its own keys in one slot. Replies come back in the order
 * the commands were queued. Ordering holds per key, not across keys of different masters.
 */
export class SlotBatch {
  private readonly pipes = new Map<string, ChainableCommander>();
  private readonly order: [ChainableCommander, number][] = [];
  private readonly single: ChainableCommander | undefined;
  private readonly cluster: Cluster | undefined;

  constructor(redis: RedisClient) {
    if (isCluster(redis)) this.cluster = redis;
    else this.single = redis.pipeline();
  }

  /** The pipeline to queue the next command on `key` to; queue exactly one command on it per call. */
  for(key: string): ChainableCommander {
    let pipe = this.single;
    if (!pipe && this.cluster) {
      const slot = keySlot(key);
      const owner = this.cluster.slots[slot]?.join(",") || `slot:${slot}`;
      pipe = this.pipes.get(owner);
      if (!pipe) {
        pipe = this.cluster.pipeline();
        this.pipes.set(owner, pipe);
      }
    }
    if (!pipe) throw new Error("unreachable: neither one server nor a cluster");
    this.order.push([pipe, pipe.length]);
    return pipe;
  }

  /** Number of commands queued. */
  get length(): number {
    return this.order.length;
  }

  /** Sends every pipeline; resolves with one reply per queued command, in queueing order. */
  async exec(): Promise<PipelineReply[]> {
    const pipes = this.single ? [this.single] : [...this.pipes.values()];
    const replies = new Map<ChainableCommander, PipelineReply[]>();
    await Promise.all(
      pipes.map(async (pipe) => {
        replies.set(pipe, ((await pipe.exec()) ?? []) as PipelineReply[]);
      }),
    );
    return this.order.map(([pipe, i]) => replies.get(pipe)?.[i] ?? [new Error("pipeline reply missing"), null]);
  }
}
