import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Registry } from "@bump/service";
import { testRedisUrl, uniquePrefix, waitFor } from "@bump/testing";
import { z } from "zod";
import type { RedisClient as Redis } from "./connection.ts";
import {
  Consumer,
  type ConsumerOptions,
  createRedis,
  listDeadLetters,
  type Message,
  OverloadedError,
  OverloadMonitor,
  Producer,
  replayDeadLetters,
  streamKeys,
  trimAcked,
} from "./index.ts";

const schema = z.strictObject({ n: z.number().int() });
type Msg = z.infer<typeof schema>;

let redis: Redis;
const consumers: Consumer<unknown>[] = [];

beforeAll(async () => {
  redis = createRedis(await testRedisUrl());
});
afterAll(async () => {
  await Promise.all(consumers.map((c) => c.close()));
  redis.disconnect();
});

function consume<T>(c: Consumer<T>): Consumer<T> {
  consumers.push(c as Consumer<unknown>);
  return c;
}

/** A consumer of group `g` with the test schema, closed after the tests. */
function groupG(opts: Omit<ConsumerOptions<Msg>, "redis" | "group" | "schema">): Consumer<Msg> {
  return consume(new Consumer<Msg>({ redis, group: "g", schema, ...opts }));
}

describe("consumer groups", () => {
  test("a handler failing twice then succeeding applies once, after backoff, and another group sees it once", async () => {
    const keys = streamKeys("s", { ns: uniquePrefix() });
    const producer = new Producer({ redis, keys, schema });
    const attempts: { at: number; attempt: number }[] = [];
    const applied = new Map<string, number>();
    const seenByB: string[] = [];
    const a = consume(
      new Consumer<Msg>({
        redis,
        keys,
        group: "a",
        schema,
        backoff: { delayMs: 100, jitter: 0 },
        handler: async (batch) => {
          const failed: { message: Message<Msg>; error: unknown }[] = [];
          for (const m of batch) {
            if (m.data.n === 7) {
              attempts.push({ at: Date.now(), attempt: m.attempt });
              if (m.attempt < 3) {
                failed.push({ message: m, error: new Error(`boom ${m.attempt}`) });
                continue;
              }
            }
            applied.set(m.id, (applied.get(m.id) ?? 0) + 1);
          }
          return { failed };
        },
      }),
    );
    const b = consume(
      new Consumer<Msg>({
        redis,
        keys,
        group: "b",
        schema,
        handler: async (batch) => {
          for (const m of batch) seenByB.push(m.id);
        },
      }),
    );
    await a.start();
    await b.start();
    const ids = await producer.addMany([{ n: 1 }, { n: 7 }, { n: 3 }]);
    await waitFor(() => applied.size === 3 && seenByB.length === 3, { timeoutMs: 10_000 });
    await Bun.sleep(300);
    expect([...applied.values()]).toEqual([1, 1, 1]);
    expect(applied.get(ids[1] as string)).toBe(1);
    expect(attempts.map((x) => x.attempt)).toEqual([1, 2, 3]);
    // exponential: >= 100 ms before the 2nd attempt, >= 200 ms before the 3rd
    expect((attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(95);
    expect((attempts[2]?.at ?? 0) - (attempts[1]?.at ?? 0)).toBeGreaterThanOrEqual(195);
    expect(seenByB.sort()).toEqual([...ids].sort());
    expect(await redis.xlen(keys.dlq)).toBe(0);
  });

  test("a poison entry is dead-lettered after maxAttempts while the others flow; replay hands it back", async () => {
    const keys = streamKeys("s", { ns: uniquePrefix() });
    const producer = new Producer({ redis, keys, schema });
    let healed = false;
    const done: number[] = [];
    const c = consume(
      new Consumer<Msg>({
        redis,
        keys,
        group: "g",
        schema,
        maxAttempts: 3,
        backoff: { delayMs: 10, jitter: 0 },
        handler: async (batch) => ({
          failed: batch
            .filter((m) => m.data.n === 13 && !healed)
            .map((message) => ({ message, error: new Error("poison") })),
        }),
      }),
    );
    const seen = new Set<number>();
    const orig = c;
    await orig.start();
    const ids = await producer.addMany(Array.from({ length: 20 }, (_, i) => ({ n: i })));
    await waitFor(async () => (await redis.xlen(keys.dlq)) === 1, { timeoutMs: 10_000 });
    const [dead] = await listDeadLetters(redis, keys);
    expect(dead?.originalId).toBe(ids[13]);
    expect(dead?.attempts).toBe(3);
    expect(dead?.group).toBe("g");
    expect(dead?.error).toBe("poison");
    expect(JSON.parse(dead?.payload ?? "{}")).toEqual({ n: 13 });
    const pending = (await redis.xpending(keys.stream, "g")) as [number];
    expect(pending[0]).toBe(0);
    healed = true;
    void done;
    void seen;
    expect(await replayDeadLetters(redis, keys, [dead?.id as string])).toBe(1);
    expect(await replayDeadLetters(redis, keys, [dead?.id as string])).toBe(0);
    await waitFor(async () => (await redis.xlen(keys.dlq)) === 0 && (await redis.xlen(keys.retryStream("g"))) === 0);
  });

  test("entries failing their schema never reach the handler and are dead-lettered at once", async () => {
    const keys = streamKeys("s", { ns: uniquePrefix() });
    const got: Msg[] = [];
    const c = consume(
      new Consumer<Msg>({
        redis,
        keys,
        group: "g",
        schema,
        handler: async (batch) => {
          for (const m of batch) got.push(m.data);
        },
      }),
    );
    await c.start();
    await redis.xadd(keys.stream, "*", "d", JSON.stringify({ n: 1 }));
    await redis.xadd(keys.stream, "*", "d", JSON.stringify({ n: "x" }));
    await redis.xadd(keys.stream, "*", "d", "not json");
    await redis.xadd(keys.stream, "*", "d", JSON.stringify({ n: 2, extra: true }));
    await waitFor(async () => got.length === 1 && (await redis.xlen(keys.dlq)) === 3);
    expect(got).toEqual([{ n: 1 }]);
    const dead = await listDeadLetters(redis, keys);
    expect(dead.every((d) => d.attempts === 1 && d.error.startsWith("schema:"))).toBe(true);
  });

  test("producers refuse invalid messages and write nothing", async () => {
    const keys = streamKeys("s", { ns: uniquePrefix() });
    const producer = new Producer({ redis, keys, schema });
    await expect(producer.addMany([{ n: 1 }, { n: 1.5 } as Msg])).rejects.toThrow("invalid message");
    expect(await redis.xlen(keys.stream)).toBe(0);
  });

  test("addOnce appends a client id once", async () => {
    const keys = streamKeys("s", { ns: uniquePrefix() });
    const producer = new Producer({ redis, keys, schema });
    const a = await producer.addOnce("c1", { n: 1 });
    const b = await producer.addOnce("c1", { n: 1 });
    expect(a.created).toBe(true);
    expect(b).toEqual({ id: a.id, created: false });
    expect(await redis.xlen(keys.stream)).toBe(1);
  });

  test("close() finishes and acks the batch in flight", async () => {
    const keys = streamKeys("s", { ns: uniquePrefix() });
    const producer = new Producer({ redis, keys, schema });
    let handled = 0;
    let entered!: () => void;
    const inHandler = new Promise<void>((r) => {
      entered = r;
    });
    const c = new Consumer<Msg>({
      redis,
      keys,
      group: "g",
      schema,
      handler: async (batch) => {
        entered();
        await Bun.sleep(200);
        handled += batch.length;
      },
    });
    await c.start();
    await producer.addMany([{ n: 1 }, { n: 2 }]);
    await inHandler;
    await Promise.all([c.close(), c.close()]);
    expect(handled).toBe(2);
    const [pending] = (await redis.xpending(keys.stream, "g")) as [number];
    expect(pending).toBe(0);
    expect(c.isRunning).toBe(false);
  });

  test("with read-ahead, every entry is handled once in stream order and none is left pending at close", async () => {
    const keys = streamKeys("s", { ns: uniquePrefix() });
    const producer = new Producer({ redis, keys, schema });
    await producer.addMany(Array.from({ length: 95 }, (_, n) => ({ n })));
    const readingAhead = (into: number[], after?: () => Promise<void>) =>
      groupG({
        keys,
        batchSize: 10,
        readAhead: true,
        handler: async (batch) => {
          for (const m of batch) into.push(m.data.n);
          await after?.();
        },
      });
    const seen: number[] = [];
    let entered!: () => void;
    const inLast = new Promise<void>((r) => {
      entered = r;
    });
    const c = readingAhead(seen, async () => {
      if (seen.length >= 60) entered();
      await Bun.sleep(5);
    });
    await c.start();
    // close while batches are read ahead: what was read is handled and acked, the rest stays for the group
    await inLast;
    await c.close();
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, n) => n));
    const [pending] = (await redis.xpending(keys.stream, "g")) as [number];
    expect(pending).toBe(0);
    const rest: number[] = [];
    await readingAhead(rest).start();
    await waitFor(() => seen.length + rest.length === 95);
    expect([...seen, ...rest]).toEqual(Array.from({ length: 95 }, (_, n) => n));
  });

  test("a batch with pending work is acked only once it resolves, retried when it rejects; the next batch flows meanwhile", async () => {
    const keys = streamKeys("s", { ns: uniquePrefix() });
    const producer = new Producer({ redis, keys, schema });
    await producer.addMany(Array.from({ length: 30 }, (_, n) => ({ n })));
    const handled: number[][] = [];
    const gates: (() => void)[] = [];
    let failFirst = true;
    const c = groupG({
      keys,
      batchSize: 10,
      backoff: { delayMs: 10, jitter: 0 },
      handler: async (batch) => {
        handled.push(batch.map((m) => m.data.n));
        const pending = new Promise<void>((resolve, reject) => {
          gates.push(() => {
            if (batch[0]?.data.n === 0 && failFirst) {
              failFirst = false;
              reject(new Error("write failed"));
            } else resolve();
          });
        });
        return { pending };
      },
    });
    let open = false;
    const opener = setInterval(() => {
      if (open) for (const g of gates.splice(0)) g();
    }, 5);
    try {
      await c.start();
      // the second batch is handled while the first one's work is still pending, and neither is acked
      await waitFor(() => handled.length === 2);
      const [unacked] = (await redis.xpending(keys.stream, "g")) as [number];
      expect(unacked).toBe(20);
      // the first batch's work fails once: it comes back from the retry stream
      open = true;
      await waitFor(async () => {
        const [left] = (await redis.xpending(keys.stream, "g")) as [number];
        return left === 0 && handled.flat().length === 40;
      });
    } finally {
      open = true;
      await c.close();
      clearInterval(opener);
    }
    // the first two batches flowed while the first one's work was pending; the retried entries may come back in
    // the same read as the third batch (the retry stream is read in the same call), so only their sum is fixed
    expect(handled.slice(0, 2)).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
    ]);
    expect(handled.flat().sort((a, b) => a - b)).toEqual(
      [...Array.from({ length: 10 }, (_, n) => n), ...Array.from({ length: 30 }, (_, n) => n)].sort((a, b) => a - b),
    );
  });

  test("a byte decoder's values are handed on; what it declines goes through the schema or is dead-lettered", async () => {
    const keys = streamKeys("s", { ns: uniquePrefix() });
    const got: Msg[] = [];
    const seenBytes: string[] = [];
    const c = groupG({
      keys,
      // takes only the compact form of {"n":1}
      decodeBytes: (payload) => {
        seenBytes.push(payload.toString());
        return payload.toString() === '{"n":1}' ? { n: 1 } : undefined;
      },
      handler: async (batch) => {
        for (const m of batch) got.push(m.data);
      },
    });
    await c.start();
    await redis.xadd(keys.stream, "*", "d", '{"n":1}');
    await redis.xadd(keys.stream, "*", "d", '{ "n": 2 }');
    await redis.xadd(keys.stream, "*", "d", '{"n":"x"}');
    await redis.xadd(keys.stream, "*", "d", "not json");
    await waitFor(async () => got.length === 2 && (await redis.xlen(keys.dlq)) === 2);
    expect(got).toEqual([{ n: 1 }, { n: 2 }]);
    expect(seenBytes).toEqual(['{"n":1}', '{ "n": 2 }', '{"n":"x"}', "not json"]);
    const dead = await listDeadLetters(redis, keys);
    expect(dead.map((d) => d.payload).sort()).toEqual(["not json", '{"n":"x"}']);
  });

  test("a blocked idle consumer closes promptly", async () => {
    const keys = streamKeys("s", { ns: uniquePrefix() });
    const c = new Consumer<Msg>({ redis, keys, group: "g", schema, blockMs: 30_000, handler: async () => {} });
    await c.start();
    await Bun.sleep(50);
    const closed = await Promise.race([c.close().then(() => true), Bun.sleep(5_000).then(() => false)]);
    expect(closed).toBe(true);
  });
});

describe("trimming and overload", () => {
  test("trimming never removes an entry a group has not acked", async () => {
    const keys = streamKeys("s", { ns: uniquePrefix() });
    const producer = new Producer({ redis, keys, schema });
    await redis.xgroup("CREATE", keys.stream, "fast", "0", "MKSTREAM");
    await redis.xgroup("CREATE", keys.stream, "slow", "0", "MKSTREAM");
    const ids = await producer.addMany(Array.from({ length: 3_000 }, (_, i) => ({ n: i })));
    // fast reads and acks everything; slow reads 1,000 and acks none of them
    const fast = (await redis.xreadgroup("GROUP", "fast", "c", "COUNT", 3000, "STREAMS", keys.stream, ">")) as [
      string,
      [string, string[]][],
    ][];
    await redis.xack(keys.stream, "fast", ...(fast[0]?.[1].map((e) => e[0]) ?? []));
    await redis.xreadgroup("GROUP", "slow", "c", "COUNT", 1000, "STREAMS", keys.stream, ">");
    await trimAcked(redis, keys);
    const first = (await redis.xrange(keys.stream, "-", "+", "COUNT", 1))[0]?.[0];
    expect(first).toBe(ids[0]);
    // slow acks its first 500: trimming may now drop only below the 501st
    const slowIds = ids.slice(0, 500);
    await redis.xack(keys.stream, "slow", ...slowIds);
    await trimAcked(redis, keys);
    const remaining = (await redis.xrange(keys.stream, "-", "+")).map((e) => e[0]);
    expect(remaining).toContain(ids[500] as string);
    expect(remaining.length).toBeGreaterThanOrEqual(2_500);
    expect(remaining.length).toBeLessThan(3_000);
  });

  test("a group's retention window binds trimming by any other group's consumers", async () => {
    const keys = streamKeys("s", { ns: uniquePrefix() });
    const producer = new Producer({ redis, keys, schema });
    const keeper = consume(
      new Consumer<Msg>({ redis, keys, group: "keeper", schema, retainMs: 60_000, handler: async () => {} }),
    );
    await keeper.start();
    const ids = await producer.addMany(Array.from({ length: 2_000 }, (_, i) => ({ n: i })));
    await waitFor(async () => ((await redis.xpending(keys.stream, "keeper")) as [number])[0] === 0);
    await keeper.close();
    // another group acks everything and trims without a window of its own
    await redis.xgroup("CREATE", keys.stream, "writer", "$");
    await trimAcked(redis, keys);
    expect((await redis.xrange(keys.stream, "-", "+", "COUNT", 1))[0]?.[0]).toBe(ids[0]);
    expect(await redis.hget(keys.retention, "keeper")).toBe("60000");
  });

  test("producers see the overload signal when lag passes the limit, and recover", async () => {
    const keys = streamKeys("s", { ns: uniquePrefix() });
    const monitor = new OverloadMonitor(redis, [keys.stream], { maxBacklog: 100, intervalMs: 50 });
    const producer = new Producer({ redis, keys, schema, overload: monitor });
    await redis.xgroup("CREATE", keys.stream, "g", "0", "MKSTREAM");
    await monitor.start();
    await producer.addMany(Array.from({ length: 150 }, (_, i) => ({ n: i })));
    await monitor.refresh();
    await expect(producer.add({ n: 1 })).rejects.toBeInstanceOf(OverloadedError);
    const c = consume(new Consumer<Msg>({ redis, keys, group: "g", schema, handler: async () => {} }));
    await c.start();
    await waitFor(async () => {
      await monitor.refresh();
      return !monitor.isOverloaded(keys.stream);
    });
    expect(await producer.add({ n: 2 })).toMatch(/^\d+-\d+$/);
    monitor.stop();
  });

  test("entries that hold several items weigh what they hold in the backlog", async () => {
    const keys = streamKeys("w", { ns: uniquePrefix() });
    const monitor = new OverloadMonitor(redis, [keys.stream], { maxBacklog: 100, intervalMs: 50 });
    const producer = new Producer({ redis, keys, schema, overload: monitor });
    await redis.xgroup("CREATE", keys.stream, "g", "0", "MKSTREAM");
    // 10 entries are well under a limit of 100, but they stand for 200 items
    for (let i = 0; i < 10; i++) await producer.addRaw([JSON.stringify({ n: i })], 20);
    await monitor.refresh();
    expect(monitor.isOverloaded(keys.stream)).toBe(true);
    await expect(producer.addRaw([JSON.stringify({ n: 10 })], 20)).rejects.toBeInstanceOf(OverloadedError);
    // plain entries count one each: 10 of them are under the limit
    const plain = streamKeys("w1", { ns: uniquePrefix() });
    const plainMonitor = new OverloadMonitor(redis, [plain.stream], { maxBacklog: 100, intervalMs: 50 });
    const plainProducer = new Producer({ redis, keys: plain, schema, overload: plainMonitor });
    await redis.xgroup("CREATE", plain.stream, "g", "0", "MKSTREAM");
    await plainProducer.addMany(Array.from({ length: 10 }, (_, n) => ({ n })));
    await plainMonitor.refresh();
    expect(plainMonitor.isOverloaded(plain.stream)).toBe(false);
  });

  test("metrics count processed entries per stream and group", async () => {
    const keys = streamKeys("m", { ns: uniquePrefix() });
    const registry = new Registry();
    const producer = new Producer({ redis, keys, schema });
    const c = consume(new Consumer<Msg>({ redis, keys, group: "g", schema, registry, handler: async () => {} }));
    await c.start();
    await producer.addMany([{ n: 1 }, { n: 2 }]);
    await waitFor(async () => (await registry.render()).includes(`bus_processed_total{stream="m",group="g"} 2`));
    expect(await registry.render()).toContain("bus_handler_seconds_bucket");
  });
});
