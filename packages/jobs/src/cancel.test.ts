import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { RedisClient as Redis } from "@bump/streams";
import { createRedis } from "@bump/streams";
import { testRedisUrl, uniquePrefix, waitFor } from "@bump/testing";
import { z } from "zod";
import { defineQueue, JobCancelledError, Queue, type QueueDefinition, QueueWorker } from "./index.ts";

let redis: Redis;
const workers: QueueWorker[] = [];

beforeAll(async () => {
  redis = createRedis(await testRedisUrl());
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.close(100)));
  redis.disconnect();
});

const n = z.object({ n: z.number().int() });

function setup(def: QueueDefinition<{ n: number }, unknown>) {
  const ns = uniquePrefix("jobcancel");
  const updates: { owner: string; id: string; state: string; error?: string }[] = [];
  const queue = new Queue(redis, def, { ns });
  const worker = new QueueWorker(redis, def as QueueDefinition<unknown, unknown>, {
    ns,
    pollMs: 20,
    blockMs: 100,
    stalledCheckMs: 200,
    notify: (owner, u) => {
      updates.push({ owner, id: u.id, state: u.state, ...(u.error ? { error: u.error } : {}) });
    },
  });
  workers.push(worker);
  return { queue, worker, updates };
}

describe("cancel", () => {
  test("a waiting job and a delayed job fail at once as cancelled, never run, and their owner is told", async () => {
    const ran: number[] = [];
    const { queue, worker, updates } = setup(
      defineQueue({
        name: "cw",
        schema: n,
        attempts: 3,
        handler: async (job) => {
          ran.push(job.data.n);
          return null;
        },
      }),
    );
    const waiting = await queue.add({ n: 1 }, { owner: "alice" });
    const delayed = await queue.add({ n: 2 }, { owner: "alice", delayMs: 200 });
    expect(await queue.cancel(waiting.jobId)).toBe("cancelled");
    expect(await queue.cancel(delayed.jobId)).toBe("cancelled");
    expect(await queue.cancel(waiting.jobId)).toBe("finished");
    expect(await queue.cancel("cw.unknown")).toBe("not_found");
    expect(await queue.counts()).toMatchObject({ waiting: 0, delayed: 0, failed: 2 });
    const after = await queue.add({ n: 3 }, { owner: "alice" });
    await worker.start();
    await waitFor(async () => (await queue.get(after.jobId))?.record.state === "completed");
    await waitFor(() => updates.filter((u) => u.error === "cancelled").length === 2);
    await Bun.sleep(400);
    expect(ran).toEqual([3]);
    for (const id of [waiting.jobId, delayed.jobId]) {
      expect((await queue.get(id))?.record).toMatchObject({ state: "failed", error: "cancelled", attempts: 0 });
    }
    const cancelled = updates.filter((u) => u.error === "cancelled");
    expect(cancelled.map((u) => u.id).sort()).toEqual([waiting.jobId, delayed.jobId].sort());
    expect(cancelled.every((u) => u.owner === "alice" && u.state === "failed")).toBe(true);
    expect(await queue.counts()).toMatchObject({ waiting: 0, active: 0, delayed: 0, completed: 1, failed: 2 });
    expect(await queue.listDead()).toEqual([]);
  });

  test("an active job has its signal aborted as cancelled and fails without a retry", async () => {
    const reasons: unknown[] = [];
    let runs = 0;
    const { queue, worker, updates } = setup(
      defineQueue({
        name: "ca",
        schema: n,
        attempts: 3,
        timeoutMs: 30_000,
        backoff: { type: "fixed", delayMs: 10, jitter: 0 },
        handler: async (_job, ctx) => {
          runs++;
          await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
          reasons.push(ctx.signal.aborted && ctx.signal.reason);
          throw ctx.signal.reason;
        },
      }),
    );
    await worker.start();
    const { jobId } = await queue.add({ n: 1 }, { owner: "bob" });
    await waitFor(async () => (await queue.get(jobId))?.record.state === "active");
    expect(await queue.cancel(jobId)).toBe("cancelling");
    await waitFor(async () => (await queue.get(jobId))?.record.state === "failed");
    await Bun.sleep(300);
    expect(runs).toBe(1);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toBeInstanceOf(JobCancelledError);
    expect((reasons[0] as Error).message).toBe("cancelled");
    expect((await queue.get(jobId))?.record).toMatchObject({ state: "failed", error: "cancelled", attempts: 1 });
    await waitFor(() => updates.length === 2);
    expect(updates).toEqual([
      { owner: "bob", id: jobId, state: "active" },
      { owner: "bob", id: jobId, state: "failed", error: "cancelled" },
    ]);
    expect(await queue.counts()).toMatchObject({ waiting: 0, active: 0, delayed: 0, failed: 1 });
    expect(await queue.listDead()).toEqual([]);
  });

  test("a run that fails while its job is being cancelled is not retried", async () => {
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const { queue, worker } = setup(
      defineQueue({
        name: "cr",
        schema: n,
        attempts: 3,
        backoff: { type: "fixed", delayMs: 10, jitter: 0 },
        handler: async () => {
          runs++;
          await gate;
          throw new Error("ignored the signal");
        },
      }),
    );
    await worker.start();
    const { jobId } = await queue.add({ n: 1 });
    await waitFor(async () => (await queue.get(jobId))?.record.state === "active");
    expect(await queue.cancel(jobId)).toBe("cancelling");
    release();
    await waitFor(async () => (await queue.get(jobId))?.record.state === "failed");
    await Bun.sleep(300);
    expect(runs).toBe(1);
    expect((await queue.get(jobId))?.record.error).toBe("cancelled");
  });

  test("a finished job is left as it is", async () => {
    const { queue, worker } = setup(defineQueue({ name: "cf", schema: n, handler: async () => "done" }));
    await worker.start();
    const { jobId } = await queue.add({ n: 1 });
    await waitFor(async () => (await queue.get(jobId))?.record.state === "completed");
    const before = await queue.get(jobId);
    expect(await queue.cancel(jobId)).toBe("finished");
    expect(await queue.get(jobId)).toEqual(before);
    expect(await queue.counts()).toMatchObject({ completed: 1, failed: 0 });
  });
});
