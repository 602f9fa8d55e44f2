import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { JobUpdate } from "@bump/contracts";
import type { RedisClient as Redis } from "@bump/streams";
import { createRedis, MessageValidationError } from "@bump/streams";
import { testRedisUrl, uniquePrefix, waitFor } from "@bump/testing";
import { z } from "zod";
import {
  defineQueue,
  JobTimeoutError,
  Queue,
  type QueueDefinition,
  QueueWorker,
  type QueueWorkerOptions,
} from "./index.ts";

let redis: Redis;
const workers: QueueWorker[] = [];

beforeAll(async () => {
  redis = createRedis(await testRedisUrl());
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.close(100)));
  redis.disconnect();
});

const fast = { pollMs: 20, blockMs: 100, stalledCheckMs: 200 } satisfies QueueWorkerOptions;

function setup<T>(def: QueueDefinition<T, unknown>, opts: QueueWorkerOptions = {}) {
  const ns = uniquePrefix("jobs");
  const queue = new Queue<T>(redis, def, { ns });
  const worker = new QueueWorker(redis, def as QueueDefinition<unknown, unknown>, { ns, ...fast, ...opts });
  workers.push(worker);
  return { queue, worker };
}

const n = z.object({ n: z.number().int() });

describe("enqueueing", () => {
  test("invalid data is refused and nothing is enqueued; idempotency keys yield the same job per owner", async () => {
    const { queue } = setup(defineQueue({ name: "idem", schema: n, handler: async () => null }));
    await expect(queue.add({ n: "x" })).rejects.toBeInstanceOf(MessageValidationError);
    await expect(queue.addMany([{ data: { n: 1 } }, { data: {} }])).rejects.toBeInstanceOf(MessageValidationError);
    expect(await redis.exists(queue.keys.streams.normal.stream)).toBe(0);
    expect((await queue.counts()).waiting).toBe(0);
    const a = await queue.add({ n: 1 }, { idempotencyKey: "k", owner: "u1" });
    const b = await queue.add({ n: 2 }, { idempotencyKey: "k", owner: "u1" });
    const c = await queue.add({ n: 3 }, { idempotencyKey: "k", owner: "u2" });
    expect(a.created).toBe(true);
    expect(b).toEqual({ jobId: a.jobId, created: false });
    expect(c.jobId).not.toBe(a.jobId);
    expect(await redis.xlen(queue.keys.streams.normal.stream)).toBe(2);
    const rec = await queue.get(a.jobId);
    expect(rec?.owner).toBe("u1");
    expect(rec?.record).toMatchObject({
      id: a.jobId,
      queue: "idem",
      state: "waiting",
      priority: "normal",
      attempts: 0,
    });
    expect(rec?.data).toEqual({ n: 1 });
  });

  test("a delayed job waits in the delayed set, then runs and reports progress and outcome to its owner", async () => {
    const updates: JobUpdate[] = [];
    const { queue, worker } = setup(
      defineQueue({
        name: "delayed",
        schema: n,
        handler: async (job, ctx) => {
          await ctx.progress(50);
          return { doubled: job.data.n * 2 };
        },
      }),
      { notify: (owner, u) => void updates.push({ ...u, owner } as JobUpdate) },
    );
    const { jobId } = await queue.add({ n: 21 }, { delayMs: 300, owner: "alice" });
    expect((await queue.get(jobId))?.record.state).toBe("delayed");
    expect((await queue.counts()).delayed).toBe(1);
    await worker.start();
    await waitFor(async () => (await queue.get(jobId))?.record.state === "completed");
    const rec = (await queue.get(jobId))?.record;
    expect(rec?.result).toEqual({ doubled: 42 });
    expect(rec?.progress).toBe(50);
    expect(Date.parse(rec?.started_at ?? "") - Date.parse(rec?.created_at ?? "")).toBeGreaterThanOrEqual(300);
    expect(updates.map((u) => u.state)).toEqual(["active", "progress", "completed"]);
    expect(updates[2]).toMatchObject({ id: jobId, queue: "delayed", result: { doubled: 42 }, owner: "alice" });
    expect(await queue.counts()).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 1, failed: 0, paused: false });
  });
});

describe("running", () => {
  test("under load, every higher-priority job starts before any lower-priority one", async () => {
    const order: string[] = [];
    const { queue, worker } = setup(
      defineQueue({
        name: "prio",
        schema: z.object({ p: z.string() }),
        concurrency: 2,
        handler: async (job) => {
          order.push(job.data.p);
          await Bun.sleep(1);
          return null;
        },
      }),
    );
    const adds: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      for (const p of ["low", "normal", "high"] as const) adds.push(queue.add({ p }, { priority: p }));
    }
    await Promise.all(adds);
    expect((await queue.counts()).waiting).toBe(120);
    await worker.start();
    await waitFor(async () => (await queue.counts()).completed === 120, { timeoutMs: 20_000 });
    expect(order.length).toBe(120);
    expect(order.lastIndexOf("high")).toBeLessThan(order.indexOf("normal"));
    expect(order.lastIndexOf("normal")).toBeLessThan(order.indexOf("low"));
  });

  test("read-ahead never runs more jobs at once than the concurrency", async () => {
    let running = 0;
    let peak = 0;
    const { queue, worker } = setup(
      defineQueue({
        name: "prefetch",
        schema: n,
        concurrency: 2,
        handler: async () => {
          peak = Math.max(peak, ++running);
          await Bun.sleep(2);
          running--;
          return null;
        },
      }),
      { prefetch: 8 },
    );
    await queue.addMany(Array.from({ length: 40 }, (_, i) => ({ data: { n: i } })));
    await worker.start();
    await waitFor(async () => (await queue.counts()).completed === 40);
    expect(peak).toBe(2);
  });

  test("failures are retried on the exponential backoff schedule", async () => {
    const runs: { at: number; attempt: number }[] = [];
    const { queue, worker } = setup(
      defineQueue({
        name: "backoff",
        schema: n,
        attempts: 4,
        backoff: { type: "exponential", delayMs: 100, jitter: 0 },
        handler: async (job) => {
          runs.push({ at: Date.now(), attempt: job.attempt });
          if (job.attempt < 4) throw new Error(`boom ${job.attempt}`);
          return "ok";
        },
      }),
    );
    await worker.start();
    const { jobId } = await queue.add({ n: 1 });
    await waitFor(async () => (await queue.get(jobId))?.record.state === "completed", { timeoutMs: 10_000 });
    expect(runs.map((r) => r.attempt)).toEqual([1, 2, 3, 4]);
    const gaps = runs.slice(1).map((r, i) => r.at - (runs[i]?.at ?? 0));
    for (const [i, gap] of gaps.entries()) expect(gap).toBeGreaterThanOrEqual(100 * 2 ** i);
    const rec = (await queue.get(jobId))?.record;
    expect(rec).toMatchObject({ attempts: 4, result: "ok", error: "boom 3" });
  });

  test("a run past its timeout has its signal aborted and is retried", async () => {
    const reasons: unknown[] = [];
    const { queue, worker } = setup(
      defineQueue({
        name: "timeout",
        schema: n,
        attempts: 2,
        timeoutMs: 100,
        backoff: { type: "fixed", delayMs: 10, jitter: 0 },
        handler: async (job, ctx) => {
          if (job.attempt === 2) return "second";
          await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
          reasons.push(ctx.signal.reason);
          return "too late";
        },
      }),
    );
    await worker.start();
    const { jobId } = await queue.add({ n: 1 });
    await waitFor(async () => (await queue.get(jobId))?.record.state === "completed");
    expect(reasons.length).toBe(1);
    expect(reasons[0]).toBeInstanceOf(JobTimeoutError);
    expect((await queue.get(jobId))?.record).toMatchObject({ attempts: 2, result: "second" });
  });

  test("a poison job ends in the dead-letter stream as failed, and replay runs it again", async () => {
    let healed = false;
    const updates: string[] = [];
    const { queue, worker } = setup(
      defineQueue({
        name: "poison",
        schema: z.object({ poison: z.boolean() }),
        attempts: 2,
        backoff: { type: "fixed", delayMs: 10, jitter: 0 },
        handler: async (job) => {
          if (job.data.poison && !healed) throw new Error("cannot digest");
          return "digested";
        },
      }),
      { notify: (_, u) => void updates.push(u.state) },
    );
    await worker.start();
    const { jobId } = await queue.add({ poison: true }, { owner: "bob" });
    const fine = await queue.add({ poison: false });
    await waitFor(async () => (await queue.counts()).failed === 1 && (await queue.listDead()).length === 1);
    const [dead] = await queue.listDead();
    expect(dead).toMatchObject({ jobId, attempts: 2, error: "cannot digest", group: "normal" });
    expect((await queue.get(jobId))?.record).toMatchObject({ state: "failed", attempts: 2, error: "cannot digest" });
    expect((await queue.get(fine.jobId))?.record.state).toBe("completed");
    expect(updates).toEqual(["active", "retrying", "active", "failed"]);
    healed = true;
    expect(await queue.replay([dead?.id ?? ""])).toBe(1);
    await waitFor(async () => (await queue.get(jobId))?.record.state === "completed");
    expect(await queue.listDead()).toEqual([]);
    expect(await queue.counts()).toMatchObject({ failed: 0, completed: 2, delayed: 0, active: 0 });
  });

  test("pause lets the run in flight finish and starts nothing new until resume", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const started: number[] = [];
    const { queue, worker } = setup(
      defineQueue({
        name: "pause",
        schema: n,
        handler: async (job) => {
          started.push(job.data.n);
          if (job.data.n === 0) await gate;
          return null;
        },
      }),
    );
    await worker.start();
    const first = await queue.add({ n: 0 });
    await waitFor(() => started.length === 1);
    await queue.pause();
    for (let i = 1; i <= 5; i++) await queue.add({ n: i });
    release();
    await waitFor(async () => (await queue.get(first.jobId))?.record.state === "completed");
    await Bun.sleep(500);
    expect(started).toEqual([0]);
    expect(await queue.counts()).toMatchObject({ waiting: 5, active: 0, paused: true });
    await queue.resume();
    await waitFor(async () => (await queue.counts()).completed === 6);
    expect(started.sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
