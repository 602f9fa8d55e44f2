import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createDb, type Database, insertLocations, migrate } from "@bump/db";
import { Delivery, deliveryKeys, HistoryReader, RedisPresence } from "@bump/delivery";
import { Registry } from "@bump/service";
import type { RedisClient as Redis } from "@bump/streams";
import { createRedis } from "@bump/streams";
import { createTestDatabase, type TestDatabase, testRedisUrl, uniquePrefix, waitFor } from "@bump/testing";
import { type RunningQueues, startQueues } from "./index.ts";

let testDb: TestDatabase;
let database: Database;
let redis: Redis;
let running: RunningQueues;
let history: HistoryReader;
const registry = new Registry();
const ns = uniquePrefix("wq");
const updates: { owner: string; state: string; id: string }[] = [];

const cell = "8a1f1d48945ffff";
function fix(user: string, lat: number, lng: number, at: number, i: number) {
  return {
    id: crypto.randomUUID(),
    userId: user,
    latitude: lat,
    longitude: lng,
    cell,
    recordedAt: new Date(at + i),
  };
}

beforeAll(async () => {
  testDb = await createTestDatabase();
  await migrate(testDb.url);
  database = createDb(testDb.url, { max: 4 });
  redis = createRedis(await testRedisUrl());
  const keys = deliveryKeys(ns);
  const delivery = new Delivery({ redis, keys, presence: new RedisPresence({ redis, keys }) });
  history = new HistoryReader(redis, keys);
  const now = Date.now();
  await insertLocations(database.db, [
    fix("in-box", 48.85, 2.35, now - 60_000, 0),
    fix("left-box", 48.85, 2.35, now - 120_000, 0),
    fix("left-box", 40.0, -3.7, now - 60_000, 0),
    fix("elsewhere", -33.9, 151.2, now - 60_000, 0),
    ...Array.from({ length: 2_500 }, (_, i) => fix("exporter", 10, 20, now - 3_600_000, i)),
  ]);
  running = await startQueues({
    redis,
    sql: database.sql,
    delivery,
    ns,
    notify: (owner, u) => void updates.push({ owner, state: u.state, id: u.id }),
    historyRetentionMs: 30 * 86_400_000,
    cleanupEveryMs: 3_600_000,
    worker: { pollMs: 20, blockMs: 100 },
    registry,
  });
}, 60_000);

afterAll(async () => {
  await running?.close(1_000);
  redis?.disconnect();
  await database?.close();
  await testDb?.close();
}, 30_000);

async function frames(user: string): Promise<string[]> {
  const r = await history.readAfter(user, { epoch: null, seq: 0 });
  return r.kind === "frames" ? r.frames.map((f) => f.text) : [];
}

const queue = (name: string) => {
  const q = running.queues.get(name);
  if (!q) throw new Error(`no queue ${name}`);
  return q;
};

describe("built-in queues", () => {
  test("broadcast to a list of users delivers one reliable frame each and reports to the owner", async () => {
    const frame = {
      type: "message",
      group_id: "news",
      messages: [{ seq: 1, sender: "ops", text: "hi", at: new Date().toISOString() }],
    };
    const { jobId } = await queue("broadcast").add({ frame, users: ["a1", "a2", "a1"] }, { owner: "ops" });
    await waitFor(async () => (await queue("broadcast").get(jobId))?.record.state === "completed");
    expect((await queue("broadcast").get(jobId))?.record.result).toEqual({ delivered: 2 });
    for (const u of ["a1", "a2"]) {
      const got = await frames(u);
      expect(got.length).toBe(1);
      expect(JSON.parse(got[0] ?? "{}")).toMatchObject({ type: "message", group_id: "news" });
    }
    expect(updates.filter((u) => u.id === jobId).map((u) => u.state)).toEqual(["active", "progress", "completed"]);
    expect(updates.every((u) => u.owner === "ops")).toBe(true);
  });

  test("broadcast to a box reaches only users whose latest location is inside it", async () => {
    const frame = {
      type: "message",
      group_id: "paris",
      messages: [{ seq: 1, sender: "ops", text: "x", at: new Date().toISOString() }],
    };
    const box = { north: 49, south: 48, east: 3, west: 2 };
    const { jobId } = await queue("broadcast").add({ frame, box }, { owner: "ops" });
    await waitFor(async () => (await queue("broadcast").get(jobId))?.record.state === "completed");
    expect((await queue("broadcast").get(jobId))?.record.result).toEqual({ delivered: 1 });
    expect((await frames("in-box")).length).toBe(1);
    expect(await frames("left-box")).toEqual([]);
    expect(await frames("elsewhere")).toEqual([]);
  });

  test("export writes the owner's history as NDJSON in pages with progress, downloadable afterwards", async () => {
    const { jobId } = await queue("export").add({}, { owner: "exporter" });
    await waitFor(async () => (await queue("export").get(jobId))?.record.state === "completed");
    const rec = (await queue("export").get(jobId))?.record;
    expect(rec?.result).toMatchObject({ rows: 2_500, url: `/v1/jobs/${jobId}?download=1` });
    expect(rec?.progress).toBe(100);
    const body = (await queue("export").readArtifact(jobId))?.toString() ?? "";
    const lines = body
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.length).toBe(2_500);
    expect(new Set(lines.map((l) => l.id)).size).toBe(2_500);
    expect(lines[0]).toMatchObject({ latitude: 10, longitude: 20 });
    const times = lines.map((l) => Date.parse(l.recorded_at));
    expect(times.every((t, i) => i === 0 || t >= (times[i - 1] ?? 0))).toBe(true);
    expect(updates.filter((u) => u.id === jobId && u.state === "progress").length).toBe(3);
    const metrics = await registry.render();
    expect(metrics).toContain('jobs_completed_total{queue="export"} 1');
    expect(metrics).toContain('jobs_queue{queue="export",state="completed"} 1');
  });

  test("cleanup deletes history past retention and schedules the next period once", async () => {
    const cleanup = queue("cleanup");
    await insertLocations(database.db, [fix("old", 48.85, 2.35, Date.now() - 40 * 86_400_000, 0)]);
    const { jobId } = await cleanup.add({ period: 1 });
    await waitFor(async () => (await cleanup.get(jobId))?.record.state === "completed");
    expect((await cleanup.get(jobId))?.record.result).toMatchObject({ locationsDeleted: 1 });
    const [{ n } = { n: -1 }] = await database.sql<
      { n: number }[]
    >`select count(*)::int as n from locations where user_id = 'old'`;
    expect(n).toBe(0);
    // Runs at start-up (this period) and for period 1 each scheduled the next period: one delayed job.
    await waitFor(async () => (await cleanup.counts()).active === 0);
    expect((await cleanup.counts()).delayed).toBe(1);
  });
});
