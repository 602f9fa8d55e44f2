import type { EntitySink } from "../entity-sink.ts";

/** An in-memory sink for tests: calls `onFrame(user, text)` per user, synchronously, in call order. */
export class MemorySink implements EntitySink {
  constructor(private readonly onFrame: (user: string, text: string) => void) {}

  async deliver(users: readonly string[], frame: string): Promise<void> {
    for (const u of users) this.onFrame(u, frame);
  }
}
