import type { JobPriority } from "@bump/contracts";
import { priorities } from "./keys.ts";

/**
 * A counting semaphore whose waiters are served by priority (high, then normal, then low), first come first
 * served within a priority. Bounds the jobs one worker runs at once.
 */
export class SlotPool {
  private free: number;
  private readonly waiters: Record<JobPriority, (() => void)[]> = { high: [], normal: [], low: [] };

  constructor(readonly size: number) {
    this.free = size;
  }

  /** Resolves once a slot is held; call {@link release} exactly once afterwards. */
  acquire(priority: JobPriority): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters[priority].push(resolve));
  }

  /** Hands the slot to the most urgent waiter, or frees it. */
  release(): void {
    for (const p of priorities) {
      const next = this.waiters[p].shift();
      if (next) {
        next();
        return;
      }
    }
    this.free++;
  }

  /** Slots held right now. */
  get inUse(): number {
    return this.size - this.free;
  }
}
