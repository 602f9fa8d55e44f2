import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import {
  type ServiceProcess,
  spawnService,
  startRedisServer,
  testRedisUrl,
  uniquePrefix,
  waitFor,
} from "@bump/testing";
import type { RedisClient as Redis } from "./connection.ts";
import type { FixtureConfig } from "./fixtures/consumer-process.ts";
import { type FaultMessage, FaultSink, faultSchema } from "./fixtures/sink.ts";
import {
  BusUnavailableError,
  Consumer,
  createRedis,
  listDeadLetters,
  Producer,
  type StreamKeys,
  streamKeys,
} from "./index.ts";

const fixture = join(import.meta.dir, "fixtures", "consumer-process.ts");

let redis: Redis;
let url: string;
const cleanups: (() => Promise<unknown> | unknown)[] = [];

beforeAll(async () => {
  url = await testRedisUrl();
  redis = createRedis(url);
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(() => redis.disconnect());

function spawnConsumer(ns: string, cfg: Partial<FixtureConfig>): ServiceProcess {
  const full: FixtureConfig = {
    url,
    ns,
    stream: "s",
    group: "g",
    mode: "exit",
    batchSize: 50,
    maxAttempts: 3,
    claimIdleMs: 100,
    claimIntervalMs: 50,
    blockMs: 50,
    ...cfg,
  };
  const proc = spawnService(fixture, {}, [JSON.stringify(full)]);
  cleanups.push(() => proc.kill9());
  return proc;
}

function sinkConsumer(keys: StreamKeys, sink: FaultSink, extra: { claimIdleMs: number }): Consumer<FaultMessage> {
  const c = new Consumer<FaultMessage>({
    redis,
    keys,
    group: "g",
    schema: faultSchema,
    claimIntervalMs: 50,
    blockMs: 50,
    trimIntervalMs: 0,
    ...extra,
    handler: async (batch) => {
      await sink.delivered(batch);
      await sink.apply(batch);
    },
  });
  cleanups.push(() => c.close());
  return c;
}

async function pendingCount(keys: StreamKeys): Promise<number> {
  const [count] = (await redis.xpending(keys.stream, "g")) as [number];
  return count;
}

describe("a consumer process killed with SIGKILL", () => {
  test("its 1,000 pending entries are reclaimed by another consumer: none lost, each applied once", async () => {
    const ns = uniquePrefix();
    const keys = streamKeys("s", { ns });
    const sink = new FaultSink(redis, keys);
    const producer = new Producer({ redis, keys, schema: faultSchema });
    const ids = await producer.addMany(Array.from({ length: 1_000 }, (_, n) => ({ n })));
    const proc = spawnConsumer(ns, { mode: "stall", batchSize: 1_000, applyFirst: 400, claimIdleMs: 60_000 });
    await waitFor(async () => (await redis.get(`${keys.stream}:sink:stalled`)) === "1000", {
      timeoutMs: 20_000,
      what: "the fixture to hold 1,000 entries",
    });
    expect(await pendingCount(keys)).toBe(1_000);
    await proc.kill9();
    expect((await sink.effectCounts()).size).toBe(400);

    await sinkConsumer(keys, sink, { claimIdleMs: 200 }).start();
    // Reclaimed entries are handled one at a time (a killer entry must not take its batch-mates with it).
    await waitFor(async () => (await sink.effectCounts()).size === 1_000 && (await pendingCount(keys)) === 0, {
      timeoutMs: 90_000,
      what: "every entry to be applied",
    });
    const effects = await sink.effectCounts();
    expect([...effects.keys()].sort()).toEqual([...ids].sort());
    expect([...effects.values()].every((n) => n === 1)).toBe(true);
    // each entry went to the dead process once and to the reclaimer once, as its second attempt
    const deliveries = await redis.hgetall(sink.deliveries);
    expect(Object.values(deliveries).every((n) => n === "2")).toBe(true);
    const attempts = await redis.hgetall(sink.attempts);
    expect(Object.values(attempts).every((n) => n === "2")).toBe(true);
    expect(await redis.xlen(keys.dlq)).toBe(0);
  }, 150_000);

  test("an entry that kills every consumer ends in the dead-letter stream after maxAttempts deliveries", async () => {
    const ns = uniquePrefix();
    const keys = streamKeys("s", { ns });
    const sink = new FaultSink(redis, keys);
    const producer = new Producer({ redis, keys, schema: faultSchema });
    const ids = await producer.addMany(Array.from({ length: 20 }, (_, n) => ({ n, poison: n === 7 || undefined })));
    const poisonId = ids[7] as string;
    const innocents = ids.filter((id) => id !== poisonId);
    const done = async () =>
      (await redis.xlen(keys.dlq)) === 1 && (await sink.effectCounts()).size === 19 && (await pendingCount(keys)) === 0;
    let crashes = 0;
    for (let run = 0; run < 8 && !(await done()); run++) {
      const proc = spawnConsumer(ns, { mode: "exit", maxAttempts: 3 });
      let exited = false;
      void proc.proc.exited.then(() => {
        exited = true;
      });
      await waitFor(async () => exited || (await done()), { timeoutMs: 20_000, what: "a crash or the end" });
      if (exited) {
        expect(proc.proc.exitCode).toBe(3);
        crashes++;
      } else {
        expect(await proc.stop()).toBe(0);
      }
    }
    expect(await done()).toBe(true);
    expect(crashes).toBe(3);
    expect(await sink.deliveriesOf(poisonId)).toBe(3);
    const [dead] = await listDeadLetters(redis, keys);
    expect(dead?.originalId).toBe(poisonId);
    expect(dead?.attempts).toBe(3);
    expect(dead?.error).toContain("consumer died");
    const effects = await sink.effectCounts();
    expect([...effects.keys()].sort()).toEqual([...innocents].sort());
    expect([...effects.values()].every((n) => n === 1)).toBe(true);
  }, 60_000);
});

describe("redis-server killed with SIGKILL and restarted", () => {
  test("acknowledged entries survive and are processed; producers fail fast meanwhile; consumers resume", async () => {
    const server = await startRedisServer();
    cleanups.push(() => server.stop());
    const keys = streamKeys("s", { ns: uniquePrefix() });
    const commands = createRedis(server.url);
    const producerConn = createRedis(server.url, "producer");
    cleanups.push(() => {
      commands.disconnect();
      producerConn.disconnect();
    });
    const producer = new Producer({ redis: producerConn, keys, schema: faultSchema });
    const processed = new Set<string>();
    const consumer = new Consumer<FaultMessage>({
      redis: commands,
      keys,
      group: "g",
      schema: faultSchema,
      blockMs: 100,
      claimIdleMs: 5_000,
      trimIntervalMs: 0,
      handler: async (batch) => {
        for (const m of batch) processed.add(m.id);
      },
    });
    cleanups.push(() => consumer.close());
    await consumer.start();

    const acked: string[] = [];
    const errors: unknown[] = [];
    let producing = true;
    const loop = (async () => {
      for (let n = 0; producing; n++) {
        try {
          acked.push(await producer.add({ n }));
        } catch (err) {
          errors.push(err);
        }
        await Bun.sleep(1);
      }
    })();

    await waitFor(() => processed.size >= 200, { what: "traffic before the crash" });
    await server.kill9();
    const ackedAtCrash = acked.length;
    await waitFor(() => errors.length >= 20, { what: "producers to fail while Redis is down" });
    await server.restart();
    await waitFor(() => acked.length >= ackedAtCrash + 200, { timeoutMs: 15_000, what: "producers to recover" });
    producing = false;
    await loop;
    const stored = new Set((await commands.xrange(keys.stream, "-", "+")).map(([id]) => id));
    expect(acked.filter((id) => !stored.has(id))).toEqual([]);

    await waitFor(() => acked.every((id) => processed.has(id)), {
      timeoutMs: 15_000,
      what: "every acknowledged entry to be processed",
    });
    expect(errors.every((e) => e instanceof BusUnavailableError)).toBe(true);
    expect(consumer.isRunning).toBe(true);
    await waitFor(async () => {
      const [count] = (await commands.xpending(keys.stream, "g")) as [number];
      return count === 0;
    });
  }, 60_000);
});
