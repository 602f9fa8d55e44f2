import { afterAll, beforeAll, expect, test } from "bun:test";
import type { RedisClient as Redis } from "@bump/streams";
import { createRedis } from "@bump/streams";
import { type RedisServer, startRedisServer, uniquePrefix, waitFor } from "@bump/testing";
import { z } from "zod";
import { defineQueue, Queue, QueueWorker } from "./index.ts";

let redis: Redis;
let server: RedisServer;

// Its own server without AOF: 100k jobs of fsync-always writes would measure the disk, not retention.
beforeAll(async () => {
  server = await startRedisServer({ args: ["--appendonly", "no"] });
  redis = createRedis(server.url);
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

/** Keys under the queue's prefix and the bytes they use. */
async function footprint(match: string): Promise<{ keys: number; bytes: number }> {
  let cursor = "0";
  const keys: string[] = [];
  do {
    const [next, batch] = await redis.scan(cursor, "MATCH", match, "COUNT", 5_000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== "0");
  const pipe = redis.pipeline();
  for (const k of keys) pipe.memory("USAGE", k);
  const sizes = ((await pipe.exec()) ?? []).map(([, v]) => Number(v ?? 0));
  return { keys: keys.length, bytes: sizes.reduce((a, b) => a + b, 0) };
}

async function addMany(queue: Queue, count: number): Promise<void> {
  for (let i = 0; i < count; i += 2_000) {
    await queue.addMany(Array.from({ length: Math.min(2_000, count - i) }, (_, j) => ({ data: { n: i + j } })));
  }
}

test("retention keeps the queue's keys and memory flat over 100k jobs", async () => {
  const ns = uniquePrefix("ret");
  const keep = 500;
  const def = defineQueue({
    name: "flat",
    schema: z.object({ n: z.number() }),
    concurrency: 50,
    retention: { completed: { count: keep, ageMs: 3_600_000 }, failed: { count: keep, ageMs: 3_600_000 } },
    handler: async (job) => job.data.n,
  });
  const queue = new Queue(redis, def, { ns });
  const worker = new QueueWorker(redis, def, { ns, pollMs: 50, blockMs: 100, trimIntervalMs: 100 });
  const match = `${queue.keys.prefix}*`;
  const drained = async (total: number) => {
    await waitFor(async () => (await queue.counts()).waiting === 0 && (await queue.counts()).active === 0, {
      timeoutMs: 60_000,
    });
    await waitFor(async () => (await redis.xlen(queue.keys.streams.normal.stream)) < 200, { timeoutMs: 10_000 });
    expect(await queue.counts()).toMatchObject({ completed: keep, failed: 0, delayed: 0 });
    expect(total).toBeGreaterThan(0);
  };
  await worker.start();
  try {
    await addMany(queue, 10_000);
    await drained(10_000);
    const early = await footprint(match);
    await addMany(queue, 90_000);
    await drained(100_000);
    const late = await footprint(match);
    // Kept records, the finished set, the stream, counters and a few bus keys: never one key per job.
    expect(early.keys).toBeLessThanOrEqual(keep + 20);
    expect(late.keys).toBeLessThanOrEqual(early.keys);
    expect(late.bytes).toBeLessThan(early.bytes * 1.5);
  } finally {
    await worker.close();
  }
}, 120_000);
