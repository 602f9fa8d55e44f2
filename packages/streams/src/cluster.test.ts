import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type RedisCluster, startRedisCluster, uniquePrefix, waitFor } from "@bump/testing";
import { z } from "zod";
import {
  Consumer,
  createRedis,
  groupBySlot,
  isCluster,
  keySlot,
  listDeadLetters,
  masters,
  Producer,
  type RedisClient,
  replayDeadLetters,
  streamKeys,
} from "./index.ts";

const schema = z.strictObject({ n: z.number().int() });
let cluster: RedisCluster;
let redis: RedisClient;

beforeAll(async () => {
  cluster = await startRedisCluster();
  redis = createRedis(cluster.url, "commands", { cluster: true });
});

afterAll(async () => {
  redis?.disconnect();
  await cluster?.stop();
});

describe("Redis Cluster", () => {
  test("createRedis connects to every master from one seed node, also through ?cluster=1", async () => {
    expect(isCluster(redis)).toBe(true);
    await redis.set(`${uniquePrefix()}:k`, "v");
    expect(masters(redis)).toHaveLength(3);
    const viaUrl = createRedis(`${cluster.url}?cluster=1`);
    try {
      expect(isCluster(viaUrl)).toBe(true);
      expect(await viaUrl.ping()).toBe("PONG");
    } finally {
      viaUrl.disconnect();
    }
  });

  test("keySlot agrees with CLUSTER KEYSLOT, hash tags included", async () => {
    const keys = ["a", "{u:1}:meta", "{u:1}:history", "deliver:{gw-1}", "{locations:3}:dlq", "x{}y", "{}{z}", "é{ü}"];
    for (let i = 0; i < 50; i++) keys.push(uniquePrefix(String(i)));
    for (const key of keys) expect(keySlot(key)).toBe(Number(await redis.call("CLUSTER", "KEYSLOT", key)));
    const groups = groupBySlot(keys, (k) => k);
    expect(groups.flat().sort()).toEqual([...keys].sort());
    for (const group of groups) expect(new Set(group.map(keySlot)).size).toBe(1);
  });

  test("a stream is produced, retried, dead-lettered and replayed within its slot", async () => {
    const keys = streamKeys(uniquePrefix("cl"));
    const producer = new Producer({ redis, keys, schema });
    const seen: number[] = [];
    let replaying = false;
    const consumer = new Consumer({
      redis,
      keys,
      group: "g",
      schema,
      blockMs: 200,
      maxAttempts: 2,
      backoff: { delayMs: 5, jitter: 0 },
      handler: async (batch) => {
        const failed = batch
          .filter((m) => m.data.n % 5 === 0 && !replaying)
          .map((m) => ({ message: m, error: new Error("poison") }));
        for (const m of batch) if (!failed.some((f) => f.message === m)) seen.push(m.data.n);
        return { failed };
      },
    });
    await consumer.start();
    try {
      for (let n = 1; n <= 10; n++) await producer.add({ n });
      await producer.addMany(Array.from({ length: 10 }, (_, i) => ({ n: 11 + i })));
      await waitFor(async () => seen.length === 16 && (await listDeadLetters(redis, keys)).length === 4, {
        timeoutMs: 20_000,
        what: "every entry handled or dead-lettered",
      });
      replaying = true;
      expect(await replayDeadLetters(redis, keys)).toBe(4);
      await waitFor(() => seen.length === 20, { timeoutMs: 20_000, what: "the replayed dead letters" });
    } finally {
      await consumer.close();
    }
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });
});
