import { afterAll, beforeAll, expect, test } from "bun:test";
import type { RedisClient as Redis } from "@bump/streams";
import { createRedis } from "@bump/streams";
import { testRedisUrl, uniquePrefix, waitFor } from "@bump/testing";
import { z } from "zod";
import { defineQueue, Queue, QueueWorker } from "./index.ts";

let redis: Redis;

beforeAll(async () => {
  redis = createRedis(await testRedisUrl());
});
afterAll(() => redis.disconnect());

const n = z.object({ n: z.number().int() });
const fast = { pollMs: 20, blockMs: 100, stalledCheckMs: 200 };

test("a closing worker hands the jobs it read but did not start back, so another runs them at once", async () => {
  const ns = uniquePrefix("handback");
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const ran: number[] = [];
  const def = defineQueue({
    name: "handback",
    schema: n,
    handler: async (job) => {
      ran.push(job.data.n);
      if (job.data.n === 0) await gate;
      return null;
    },
  });
  const queue = new Queue(redis, def, { ns });
  await queue.addMany(Array.from({ length: 4 }, (_, i) => ({ data: { n: i } })));
  const first = new QueueWorker(redis, def, { ns, ...fast, prefetch: 8, stalledMs: 600_000 });
  await first.start();
  await waitFor(() => ran.length === 1);
  const closed = first.close();
  release();
  await closed;
  expect(ran).toEqual([0]);
  expect(await queue.counts()).toMatchObject({ waiting: 3, active: 0, completed: 1 });
  // with a stalled timeout of ten minutes, only a hand back lets the second worker run them now
  const second = new QueueWorker(redis, def, { ns, ...fast, stalledMs: 600_000 });
  await second.start();
  try {
    await waitFor(async () => (await queue.counts()).completed === 4);
  } finally {
    await second.close();
  }
  expect(ran.sort()).toEqual([0, 1, 2, 3]);
  expect(((await redis.xpending(queue.keys.streams.normal.stream, queue.keys.group)) as unknown[])[0]).toBe(0);
});

test("every job of a large batch completes once at concurrency 1 and 20, with no entry left pending", async () => {
  for (const concurrency of [1, 20]) {
    const ns = uniquePrefix("batch");
    const seen = new Map<number, number>();
    const def = defineQueue({
      name: "batch",
      schema: n,
      concurrency,
      attempts: 2,
      backoff: { type: "fixed", delayMs: 10, jitter: 0 },
      handler: async (job) => {
        seen.set(job.data.n, (seen.get(job.data.n) ?? 0) + 1);
        if (job.data.n % 7 === 0 && job.attempt === 1) throw new Error("once");
        return job.data.n;
      },
    });
    const queue = new Queue(redis, def, { ns });
    const worker = new QueueWorker(redis, def, { ns, ...fast });
    await worker.start();
    try {
      await queue.addMany(Array.from({ length: 300 }, (_, i) => ({ data: { n: i } })));
      await waitFor(async () => (await queue.counts()).completed === 300, { timeoutMs: 20_000 });
    } finally {
      await worker.close();
    }
    for (let i = 0; i < 300; i++) expect(seen.get(i)).toBe(i % 7 === 0 ? 2 : 1);
    expect(await queue.counts()).toMatchObject({ waiting: 0, active: 0, delayed: 0, failed: 0, completed: 300 });
    for (const p of ["high", "normal", "low"] as const) {
      expect(((await redis.xpending(queue.keys.streams[p].stream, queue.keys.group)) as unknown[])[0]).toBe(0);
    }
  }
});

test("a dead high-priority job is replayed on the high stream with fresh attempts", async () => {
  const ns = uniquePrefix("replay");
  let healed = false;
  const attempts: number[] = [];
  const def = defineQueue({
    name: "replay",
    schema: n,
    attempts: 1,
    handler: async (job) => {
      attempts.push(job.attempt);
      if (!healed) throw new Error("not yet");
      return "ok";
    },
  });
  const queue = new Queue(redis, def, { ns });
  const worker = new QueueWorker(redis, def, { ns, ...fast });
  await worker.start();
  try {
    const { jobId } = await queue.add({ n: 1 }, { priority: "high" });
    await waitFor(async () => (await queue.listDead()).length === 1);
    const [dead] = await queue.listDead();
    expect(dead).toMatchObject({ jobId, group: "high", attempts: 1, error: "not yet" });
    healed = true;
    expect(await queue.replay()).toBe(1);
    expect(await queue.replay()).toBe(0);
    await waitFor(async () => (await queue.get(jobId))?.record.state === "completed");
    expect(attempts).toEqual([1, 1]);
    expect((await queue.get(jobId))?.record).toMatchObject({ priority: "high", attempts: 1, result: "ok" });
    expect(await queue.counts()).toMatchObject({ failed: 0, completed: 1, waiting: 0, active: 0 });
  } finally {
    await worker.close();
  }
});
