import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type BumpEvent, type LocationEvent, locationEntryPayload, MAX_ENTRY_FIXES } from "@bump/contracts";
import { createDb, type Database, migrate } from "@bump/db";
import { createLogger, Registry, silentLogger } from "@bump/service";
import type { RedisClient as Redis } from "@bump/streams";
import { createRedis, streamKeys, streamNames } from "@bump/streams";
import { createTestDatabase, type TestDatabase, testRedisUrl, uniquePrefix, waitFor } from "@bump/testing";
import { startBumpsWriter } from "./bumps-writer.ts";
import { startHistoryWriter } from "./history-writer.ts";
import type { Persistence } from "./persistence-consumer.ts";
import { startTcpProxy, type TcpProxy } from "./test-proxy.ts";

let testDb: TestDatabase;
let direct: Database;
let viaProxy: Database;
let proxy: TcpProxy;
let redis: Redis;
let registry: Registry;
let writers: Persistence[] = [];
const ns = uniquePrefix("persist");
const locKeys = streamKeys(streamNames.locations, { ns });
const bumpKeys = streamKeys(streamNames.bumps, { ns });

beforeAll(async () => {
  testDb = await createTestDatabase();
  await migrate(testDb.url);
  direct = createDb(testDb.url, { max: 2 });
  const target = new URL(testDb.url);
  proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
  const proxied = new URL(testDb.url);
  proxied.hostname = "127.0.0.1";
  proxied.port = String(proxy.port);
  viaProxy = createDb(proxied.toString(), { max: 4 });
  redis = createRedis(await testRedisUrl());
  registry = new Registry();
  const deps = {
    redis,
    db: viaProxy.db,
    probe: () => viaProxy.sql`select 1`,
    registry,
    logger: process.env.DEBUG_PERSIST ? createLogger("t", "debug") : silentLogger,
    ns,
    batchSize: 300,
    maxAttempts: 2,
  };
  writers = [await startHistoryWriter(deps), await startBumpsWriter(deps)];
}, 60_000);

afterAll(async () => {
  await Promise.all(writers.map((w) => w.close()));
  // one DEL per stream tag: on a cluster the two streams lie in different slots
  await Promise.all([redis.del(locKeys.stream, locKeys.dlq), redis.del(bumpKeys.stream, bumpKeys.dlq)]);
  redis.disconnect();
  await viaProxy.close();
  await direct.close();
  await proxy.close();
  await testDb.close();
}, 30_000);

let seq = 0;
function fix(user = `u${seq % 50}`): LocationEvent {
  seq++;
  return {
    id: crypto.randomUUID(),
    user_id: user,
    latitude: 52.5 + (seq % 100) / 1e4,
    longitude: 13.4,
    accuracy: 5,
    recorded_at: 1_790_000_000_000 + seq,
    received_at: 1_790_000_000_000 + seq,
    cell: "8a1f1d48945ffff",
  };
}
function bump(id = `bump-${++seq}`): BumpEvent {
  return {
    id,
    user_a: "a",
    user_b: "b",
    distance_m: 4.5,
    latitude: 52.5,
    longitude: 13.4,
    at: 1_790_000_000_000 + seq,
    cell: "8a1f1d48945ffff",
  };
}

async function add(key: string, messages: object[]) {
  const pipe = redis.pipeline();
  for (const m of messages) pipe.xadd(key, "*", "d", JSON.stringify(m));
  await pipe.exec();
}
const count = async (table: "locations" | "bumps") =>
  Number((await direct.sql.unsafe(`select count(*)::int as n from ${table}`))[0]?.n);
const pending = async (key: string, group: string) => Number(((await redis.xpending(key, group)) as unknown[])[0]);

describe("persistence consumers", () => {
  test("every entry is written once, even when it is on the stream twice", async () => {
    const fixes = Array.from({ length: 700 }, () => fix());
    const bumps = Array.from({ length: 30 }, () => bump());
    await add(locKeys.stream, [...fixes, ...fixes.slice(0, 200)]);
    await add(bumpKeys.stream, [...bumps, ...bumps]);
    await waitFor(
      async () => (await pending(locKeys.stream, "history")) === 0 && (await redis.xlen(locKeys.stream)) > 0,
      {
        what: "history to drain",
      },
    );
    await waitFor(async () => (await count("locations")) === 700 && (await count("bumps")) === 30, {
      what: "rows",
    });
    const ids = (await direct.sql`select id from locations`).map((r) => r.id as string);
    expect(new Set(ids)).toEqual(new Set(fixes.map((f) => f.id)));
    const row = (
      await direct.sql`select user_id, accuracy, cell from locations where id = ${fixes[0]?.id as string}`
    )[0];
    expect(row).toMatchObject({ user_id: fixes[0]?.user_id, accuracy: 5, cell: "8a1f1d48945ffff" });
  });

  test("multi-fix entries: each fix written once, whether it comes again in an entry or alone", async () => {
    const before = await count("locations");
    const fixes = Array.from({ length: 3 * MAX_ENTRY_FIXES }, () => fix());
    const entry = (list: LocationEvent[]) => locationEntryPayload(list.map((f) => JSON.stringify(f)));
    const pipe = redis.pipeline();
    for (let i = 0; i < fixes.length; i += MAX_ENTRY_FIXES)
      pipe.xadd(locKeys.stream, "*", "d", entry(fixes.slice(i, i + MAX_ENTRY_FIXES)));
    // a redelivered entry, the same fixes in entries of another shape, and some alone
    pipe.xadd(locKeys.stream, "*", "d", entry(fixes.slice(0, MAX_ENTRY_FIXES)));
    pipe.xadd(locKeys.stream, "*", "d", entry(fixes.slice(150, 260)));
    for (const f of fixes.slice(590)) pipe.xadd(locKeys.stream, "*", "d", JSON.stringify(f));
    await pipe.exec();
    await waitFor(async () => (await count("locations")) === before + fixes.length, { what: "rows" });
    await waitFor(async () => (await pending(locKeys.stream, "history")) === 0, { what: "history acks" });
    const ids = await direct.sql`select id from locations where id in ${direct.sql(fixes.map((f) => f.id))}`;
    expect(new Set(ids.map((r) => r.id as string))).toEqual(new Set(fixes.map((f) => f.id)));
    expect(await count("locations")).toBe(before + fixes.length);
    expect(await redis.xlen(locKeys.dlq)).toBe(0);
  });

  test("Postgres unreachable: writers pause, dead-letter nothing, and write every row once when it returns", async () => {
    const locBefore = await count("locations");
    const bumpBefore = await count("bumps");
    const paused = registry.gauge("persistence_paused", "", ["stream", "group"]);
    await proxy.cut();
    const fixes = Array.from({ length: 1500 }, () => fix());
    const bumps = Array.from({ length: 40 }, () => bump());
    await add(locKeys.stream, fixes.slice(0, 750));
    await add(bumpKeys.stream, bumps);
    await waitFor(() => paused.get(["locations", "history"]) === 1 && paused.get(["bumps", "bumps-writer"]) === 1, {
      what: "writers to pause",
    });
    await add(locKeys.stream, [...fixes.slice(750), ...fixes.slice(0, 100)]);
    // Longer than the whole retry schedule of maxAttempts = 2: failing instead of pausing would dead-letter.
    await Bun.sleep(2_500);
    expect(await count("locations")).toBe(locBefore);
    await proxy.restore();
    await waitFor(async () => (await count("locations")) === locBefore + 1500, { timeoutMs: 20_000, what: "history" });
    await waitFor(async () => (await count("bumps")) === bumpBefore + 40, { timeoutMs: 20_000, what: "bumps" });
    expect(await redis.xlen(locKeys.dlq)).toBe(0);
    expect(await redis.xlen(bumpKeys.dlq)).toBe(0);
    expect(paused.get(["locations", "history"])).toBe(0);
    await waitFor(async () => (await pending(locKeys.stream, "history")) === 0, { what: "history acks" });
  }, 60_000);

  test("a row Postgres refuses is dead-lettered alone; the rest of its batch is written", async () => {
    const before = await count("bumps");
    const good = [bump(), bump()];
    await add(bumpKeys.stream, [good[0] as BumpEvent, bump("bad\u0000id"), good[1] as BumpEvent]);
    await waitFor(async () => (await redis.xlen(bumpKeys.dlq)) === 1, { timeoutMs: 20_000, what: "dead letter" });
    expect(await count("bumps")).toBe(before + 2);
    const [[, fields]] = (await redis.xrange(bumpKeys.dlq, "-", "+")) as [string, string[]][] as [[string, string[]]];
    expect(fields.join(" ")).toContain("bumps-writer");
  }, 30_000);

  test("a multi-fix entry holding a bad fix is dead-lettered whole; the entries around it are written", async () => {
    const before = await count("locations");
    const [a, b, c, d] = [fix(), fix(), fix(), fix()];
    const entry = (list: object[]) => locationEntryPayload(list.map((f) => JSON.stringify(f)));
    await redis.xadd(locKeys.stream, "*", "d", entry([a, b]));
    await redis.xadd(locKeys.stream, "*", "d", entry([c, { ...d, latitude: 91 }]));
    await redis.xadd(locKeys.stream, "*", "d", entry([d]));
    await waitFor(async () => (await redis.xlen(locKeys.dlq)) === 1, { timeoutMs: 20_000, what: "dead letter" });
    await waitFor(async () => (await count("locations")) === before + 3, { what: "rows" });
    const [[, fields]] = (await redis.xrange(locKeys.dlq, "-", "+")) as [string, string[]][] as [[string, string[]]];
    // the dead letter keeps the entry's valid fix for inspection and replay
    expect(fields.join(" ")).toContain(c.id);
    const ids = await direct.sql`select id from locations where id in ${direct.sql([a, b, c, d].map((f) => f.id))}`;
    expect(new Set(ids.map((r) => r.id as string))).toEqual(new Set([a.id, b.id, d.id]));
    await redis.del(locKeys.dlq);
  }, 30_000);

  test("every writer's consumer runs", () => {
    expect(writers.every((w) => w.isRunning())).toBe(true);
  });
});
