import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { freePort, testRedisUrl, uniquePrefix } from "@bump/testing";
import { z } from "zod";
import { BusUnavailableError } from "./bus-unavailable-error.ts";
import type { RedisClient as Redis } from "./connection.ts";
import { createRedis } from "./connection.ts";
import { streamKeys } from "./keys.ts";
import { OverloadMonitor } from "./overload.ts";
import { OverloadedError } from "./overloaded-error.ts";
import { Producer } from "./producer.ts";

const schema = z.object({ n: z.number() });
type Msg = z.infer<typeof schema>;
let redis: Redis;
const streams: string[] = [];

beforeAll(async () => {
  redis = createRedis(await testRedisUrl());
});

afterAll(async () => {
  // one DEL per stream: on a cluster the streams lie in different slots
  await Promise.all(streams.map((s) => redis.del(s)));
  redis.disconnect();
});

function keysFor(name: string) {
  const keys = streamKeys(name, { ns: uniquePrefix() });
  streams.push(keys.stream, keys.dedupe("c1"));
  return keys;
}

const payloads = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ n: i }));

describe("Producer.appendMany", () => {
  test("appends every payload in order in one call and answers the entry ids in that order", async () => {
    const keys = keysFor("am");
    const producer = new Producer<Msg>({ redis, keys, schema });
    const ids = await producer.appendMany(payloads(500));
    const rows = (await redis.xrange(keys.stream, "-", "+")) as [string, string[]][];
    expect(rows.map(([id]) => id)).toEqual(ids);
    expect(rows.map(([, f]) => f)).toEqual(payloads(500).map((p) => ["d", p]));
    expect(await producer.appendMany([])).toEqual([]);
    // A second call appends after the first.
    const more = await producer.appendMany(payloads(3));
    expect(more).toHaveLength(3);
    expect((await redis.xrange(keys.stream, "-", "+")).slice(-3).map(([id]) => id)).toEqual(more);
  });

  test("payloads holding newlines (or empty ones) are appended exactly as given, in order", async () => {
    const keys = keysFor("nl");
    const producer = new Producer<Msg>({ redis, keys, schema });
    const odd = ['{"n":1}', '{\n"n": 2}', "", '{"n":\n\n3}', '{"n":4}'];
    const ids = await producer.appendMany(odd);
    const plain = await producer.appendMany(["", ""]);
    const rows = (await redis.xrange(keys.stream, "-", "+")) as [string, string[]][];
    expect(rows.map(([id]) => id)).toEqual([...ids, ...plain]);
    expect(rows.map(([, f]) => f[1])).toEqual([...odd, "", ""]);
  });

  test("the stream stays near its cap (MAXLEN ~)", async () => {
    const keys = keysFor("cap");
    const producer = new Producer<Msg>({ redis, keys, schema, maxLen: 100 });
    for (let i = 0; i < 4; i++) await producer.appendMany(payloads(500));
    const len = await redis.xlen(keys.stream);
    expect(len).toBeGreaterThanOrEqual(100);
    // Approximate trimming removes whole nodes (100 entries each by default): well under the 2,000 written.
    expect(len).toBeLessThan(700);
  });

  test("refused with OverloadedError while consumers lag past the limit, writing nothing", async () => {
    const keys = keysFor("ov");
    const monitor = new OverloadMonitor(redis, [keys.stream], { maxBacklog: 10, intervalMs: 50 });
    const producer = new Producer<Msg>({ redis, keys, schema, overload: monitor });
    await redis.xgroup("CREATE", keys.stream, "g", "0", "MKSTREAM");
    await monitor.start();
    try {
      await producer.appendMany(payloads(20));
      await monitor.refresh();
      await expect(producer.appendMany(payloads(5))).rejects.toBeInstanceOf(OverloadedError);
      expect(await redis.xlen(keys.stream)).toBe(20);
    } finally {
      monitor.stop();
    }
  });

  test("bus down: rejects with BusUnavailableError at once", async () => {
    const down = createRedis(`redis://127.0.0.1:${await freePort()}`, "producer");
    down.on("error", () => {});
    try {
      const producer = new Producer<Msg>({ redis: down, keys: streamKeys("down", { ns: uniquePrefix() }), schema });
      await expect(producer.appendMany(payloads(3))).rejects.toBeInstanceOf(BusUnavailableError);
    } finally {
      down.disconnect();
    }
  });
});

describe("Producer.addOnceRaw", () => {
  test("appends a payload once per client id and answers the same id on a retry", async () => {
    const keys = keysFor("once");
    const producer = new Producer<Msg>({ redis, keys, schema });
    const first = await producer.addOnceRaw("c1", '{"n":1}');
    const again = await producer.addOnceRaw("c1", '{"n":1}');
    expect(first.created).toBe(true);
    expect(again).toEqual({ id: first.id, created: false });
    expect(await redis.xrange(keys.stream, "-", "+")).toEqual([[first.id, ["d", '{"n":1}']]]);
  });
});
