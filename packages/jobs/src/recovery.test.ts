import { afterAll, beforeAll, expect, test } from "bun:test";
import type { RedisClient as Redis } from "@bump/streams";
import { createRedis } from "@bump/streams";
import { spawnService, testRedisUrl, uniquePrefix, waitFor } from "@bump/testing";
import { z } from "zod";
import { defineQueue, Queue, QueueWorker } from "./index.ts";

let redis: Redis;
let url: string;

beforeAll(async () => {
  url = await testRedisUrl();
  redis = createRedis(url);
});
afterAll(() => redis.disconnect());

test("a job whose worker process is killed with -9 runs again elsewhere and completes once in effect", async () => {
  const ns = uniquePrefix("stall");
  const effects: string[] = [];
  const def = defineQueue({
    name: "stall",
    schema: z.object({ hang: z.boolean() }),
    timeoutMs: 1_000,
    handler: async (job) => {
      effects.push(job.id);
      return "recovered";
    },
  });
  const queue = new Queue(redis, def, { ns });
  const crashing = spawnService(new URL("./testing/hang-worker.ts", import.meta.url).pathname, {
    REDIS_URL: url,
    JOBS_NS: ns,
  });
  try {
    await waitFor(() => crashing.output().includes("worker ready"), { timeoutMs: 15_000 });
    const done = await queue.add({ hang: false });
    await waitFor(async () => (await queue.get(done.jobId))?.record.state === "completed");
    const stuck = await queue.add({ hang: true });
    await waitFor(async () => (await queue.get(stuck.jobId))?.record.state === "active");
    await crashing.kill9();

    const worker = new QueueWorker(redis, def, { ns, pollMs: 20, blockMs: 100, stalledMs: 500, stalledCheckMs: 200 });
    await worker.start();
    try {
      await waitFor(async () => (await queue.get(stuck.jobId))?.record.state === "completed", { timeoutMs: 10_000 });
      await Bun.sleep(700);
    } finally {
      await worker.close();
    }
    expect(effects).toEqual([stuck.jobId]);
    expect((await queue.get(stuck.jobId))?.record).toMatchObject({ attempts: 2, result: "recovered" });
    expect((await queue.get(done.jobId))?.record).toMatchObject({ attempts: 1, result: "crash-worker" });
    expect(await queue.counts()).toMatchObject({ active: 0, waiting: 0, completed: 2, failed: 0 });
  } finally {
    await crashing.kill9().catch(() => {});
  }
});

test("a job that takes its worker down on its last attempt ends failed in the dead letters, counts intact", async () => {
  const ns = uniquePrefix("stall");
  let runs = 0;
  const def = defineQueue({
    name: "stall",
    schema: z.object({ hang: z.boolean() }),
    attempts: 1,
    handler: async () => {
      runs++;
      return null;
    },
  });
  const queue = new Queue(redis, def, { ns });
  const crashing = spawnService(new URL("./testing/hang-worker.ts", import.meta.url).pathname, {
    REDIS_URL: url,
    JOBS_NS: ns,
  });
  try {
    await waitFor(() => crashing.output().includes("worker ready"), { timeoutMs: 15_000 });
    const { jobId } = await queue.add({ hang: true });
    await waitFor(async () => (await queue.get(jobId))?.record.state === "active");
    await crashing.kill9();
    const worker = new QueueWorker(redis, def, { ns, pollMs: 20, blockMs: 100, stalledMs: 500, stalledCheckMs: 200 });
    await worker.start();
    try {
      await waitFor(async () => (await queue.get(jobId))?.record.state === "failed", { timeoutMs: 10_000 });
    } finally {
      await worker.close();
    }
    expect(runs).toBe(0);
    expect((await queue.get(jobId))?.record.error).toContain("consumer died");
    expect((await queue.listDead()).map((d) => d.jobId)).toEqual([jobId]);
    expect(await queue.counts()).toMatchObject({ active: 0, waiting: 0, delayed: 0, failed: 1 });
  } finally {
    await crashing.kill9().catch(() => {});
  }
});
