import type { RedisClient as Redis } from "@bump/streams";
import type { EntitySink } from "./entity-sink.ts";

/**
 * A sink that appends each frame with its users to one Redis stream (fields `u`: comma-separated user ids,
 * `k`: coalescing key, `f`: frame text), capped at `maxLen` entries. Entries are in call order. For tests,
 * benchmarks and deployments where a reader relays frames to sockets.
 */
export class StreamEntitySink implements EntitySink {
  constructor(
    private readonly redis: Redis,
    private readonly stream: string,
    private readonly maxLen = 100_000,
  ) {}

  async deliver(users: readonly string[], frame: string, coalesceKey: string): Promise<void> {
    if (users.length === 0) return;
    await this.redis.xadd(
      this.stream,
      "MAXLEN",
      "~",
      this.maxLen,
      "*",
      "u",
      users.join(","),
      "k",
      coalesceKey,
      "f",
      frame,
    );
  }
}
