import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { MessageFrame } from "@bump/contracts";
import { createDb, type Database, migrate } from "@bump/db";
import { Delivery, deliveryKeys, HistoryReader, RedisPresence } from "@bump/delivery";
import type { RedisClient as Redis } from "@bump/streams";
import { createRedis } from "@bump/streams";
import { createTestDatabase, type TestDatabase, testRedisUrl, uniquePrefix } from "@bump/testing";
import { planUnits } from "./bursts.ts";
import { deliverChunked } from "./chunked.ts";
import { GroupFanout } from "./fanout.ts";
import { groupsKeys } from "./keys.ts";
import { withGroupScripts } from "./scripts.ts";
import { GroupStore } from "./store.ts";

let tdb: TestDatabase;
let database: Database;
let redis: Redis;
let store: GroupStore;
let delivery: Delivery;
let history: HistoryReader;
let keys: ReturnType<typeof groupsKeys>;

beforeAll(async () => {
  tdb = await createTestDatabase();
  await migrate(tdb.url);
  database = createDb(tdb.url);
  redis = createRedis(await testRedisUrl());
  const ns = uniquePrefix("groups");
  const dk = deliveryKeys(ns);
  keys = groupsKeys(ns);
  store = new GroupStore(database.db);
  delivery = new Delivery({ redis, keys: dk, presence: new RedisPresence({ redis, keys: dk }) });
  history = new HistoryReader(redis, dk);
}, 60_000);

afterAll(async () => {
  redis.disconnect();
  await database.close();
  await tdb.close();
});

/** Every message a user's history holds for `group`, as [frame index, seq] pairs in history order. */
async function received(user: string, group: string): Promise<{ frames: number; seqs: number[] }> {
  const r = await history.readAfter(user, { epoch: null, seq: 0 });
  if (r.kind !== "frames") throw new Error(`resync for ${user}`);
  const frames = r.frames
    .map((f) => JSON.parse(f.text) as MessageFrame)
    .filter((f) => f.type === "message" && f.group_id === group);
  return { frames: frames.length, seqs: frames.flatMap((f) => f.messages.map((m) => m.seq)) };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe("planUnits", () => {
  const at = (s: number) => new Date(1_700_000_000_000 + s * 1000).toISOString();
  test("merges back-to-back messages of one sender within the window, and nothing else", () => {
    const msgs = [
      { seq: 1, sender: "a", text: "x", at: at(0) },
      { seq: 2, sender: "a", text: "x", at: at(4) },
      { seq: 3, sender: "a", text: "x", at: at(8) },
      { seq: 4, sender: "a", text: "x", at: at(14) },
      { seq: 5, sender: "b", text: "x", at: at(15) },
      { seq: 6, sender: "a", text: "x", at: at(16) },
    ];
    expect(planUnits(msgs).map((u) => [u.lo, u.hi])).toEqual([
      [1, 3],
      [4, 4],
      [5, 5],
      [6, 6],
    ]);
    expect(planUnits(msgs, { maxMessages: 2 }).map((u) => [u.lo, u.hi])).toEqual([
      [1, 2],
      [3, 3],
      [4, 4],
      [5, 5],
      [6, 6],
    ]);
  });
});

describe("GroupFanout", () => {
  test("a small group gets every message once in seq order; a burst is one frame", async () => {
    const now = Date.now();
    await store.create("small", "small", "alice", ["bob", "carol"], now);
    for (let i = 0; i < 3; i++) await store.post("small", "alice", crypto.randomUUID(), `a${i}`, now + i);
    await store.post("small", "bob", crypto.randomUUID(), "b", now + 10);
    const fanout = new GroupFanout({ redis, store, delivery, keys });
    expect(await fanout.drain("small")).toBe(true);
    for (const u of ["alice", "bob", "carol"])
      expect(await received(u, "small")).toEqual({ frames: 2, seqs: range(4) });
    expect(await fanout.drain("small")).toBe(true);
    expect(await received("bob", "small")).toEqual({ frames: 2, seqs: range(4) });
    expect(await fanout.stats("small")).toEqual({ delivered_seq: 4, messages: 4, frames: 2, bursts: 1 });
  });

  test("a large group is fanned out in chunks to every member", async () => {
    const users = range(130).map((i) => `big${String(i).padStart(3, "0")}`);
    await store.create("large", "large", "big001", users, Date.now());
    await store.post("large", "big007", crypto.randomUUID(), "hello", Date.now());
    const fanout = new GroupFanout({ redis, store, delivery, keys, inlineMax: 50, chunk: 25 });
    await fanout.drain("large");
    for (const u of users) expect(await received(u, "large")).toEqual({ frames: 1, seqs: [1] });
  });

  test("chunked delivery reads members a page ahead and reaches each once, the last chunk short", async () => {
    const users = range(130).map((i) => `page${String(i).padStart(3, "0")}`);
    await store.create("paged", "paged", "page001", users, Date.now());
    await store.post("paged", "page002", crypto.randomUUID(), "x", Date.now());
    await store.post("paged", "page003", crypto.randomUUID(), "y", Date.now());
    const units = planUnits(await store.messages("paged", 0, 10));
    const seen: number[] = [];
    const n = await deliverChunked({
      store,
      delivery,
      group: "paged",
      units,
      chunk: 25,
      page: 40,
      parallel: 2,
      onChunk: (d) => {
        seen.push(d);
      },
    });
    expect(n).toBe(130);
    expect(seen).toHaveLength(6);
    expect(seen[seen.length - 1]).toBe(130);
    for (const u of users) expect(await received(u, "paged")).toEqual({ frames: 2, seqs: [1, 2] });
  });

  test("a unit interrupted mid-delivery is finished unchanged: no member sees a seq twice", async () => {
    const now = Date.now();
    await store.create("crash", "crash", "a", ["b"], now);
    for (let i = 0; i < 3; i++) await store.post("crash", "a", crypto.randomUUID(), `m${i}`, now + i);
    const k = keys.group("crash");
    // A previous drainer planned seqs 1..2 as one frame and reached only member "a" before it died.
    const firstTwo = await store.messages("crash", 0, 2);
    await delivery.deliver(
      ["a"],
      { type: "message", group_id: "crash", messages: firstTwo },
      { reliable: true, id: "g:crash:1" },
    );
    await redis.hset(k.cursor, "unit", "1:2");
    await new GroupFanout({ redis, store, delivery, keys }).drain("crash");
    expect(await received("a", "crash")).toEqual({ frames: 2, seqs: [1, 2, 3] });
    expect(await received("b", "crash")).toEqual({ frames: 2, seqs: [1, 2, 3] });
  });

  test("a recorded pass of several units is finished unchanged, though later messages would plan it otherwise", async () => {
    const now = Date.now();
    await store.create("crash2", "crash2", "a", ["b"], now);
    await store.post("crash2", "a", crypto.randomUUID(), "m1", now);
    await store.post("crash2", "a", crypto.randomUUID(), "m2", now + 1);
    await store.post("crash2", "b", crypto.randomUUID(), "m3", now + 2);
    const k = keys.group("crash2");
    // A previous drainer recorded the pass 1..2 + 3..3 and reached only member "a" with both frames.
    await redis.hset(k.cursor, "unit", "1:2,3:3");
    const pending = await store.messages("crash2", 0, 3);
    await delivery.deliver(
      ["a"],
      { type: "message", group_id: "crash2", messages: pending.slice(0, 2) },
      { reliable: true, id: "g:crash2:1" },
    );
    await delivery.deliver(
      ["a"],
      { type: "message", group_id: "crash2", messages: pending.slice(2) },
      { reliable: true, id: "g:crash2:3" },
    );
    // Back-to-back with seq 3: planned afresh, 3..4 would be one frame under the id member "a" already has.
    await store.post("crash2", "b", crypto.randomUUID(), "m4", now + 3);
    const fanout = new GroupFanout({ redis, store, delivery, keys });
    expect(await fanout.drain("crash2")).toBe(true);
    expect(await received("a", "crash2")).toEqual({ frames: 3, seqs: range(4) });
    expect(await received("b", "crash2")).toEqual({ frames: 3, seqs: range(4) });
    expect(await fanout.stats("crash2")).toMatchObject({ delivered_seq: 4, messages: 4, frames: 3 });
    expect(await redis.hget(k.cursor, "unit")).toBeNull();
  });

  test("a pass of several units reaches every member of a large group in order, one member read per pass", async () => {
    const users = range(120).map((i) => `multi${String(i).padStart(3, "0")}`);
    await store.create("multi", "multi", "multi001", users, Date.now());
    const now = Date.now();
    await store.post("multi", "multi002", crypto.randomUUID(), "a", now);
    await store.post("multi", "multi002", crypto.randomUUID(), "b", now + 1);
    await store.post("multi", "multi003", crypto.randomUUID(), "c", now + 2);
    await store.post("multi", "multi002", crypto.randomUUID(), "d", now + 3);
    const passes: number[][] = [];
    const fanout = new GroupFanout({
      redis,
      store,
      delivery,
      keys,
      inlineMax: 50,
      large: async (group, units, members) => {
        passes.push(units.map((u) => u.lo));
        expect(members).toBe(users.length);
        await deliverChunked({ store, delivery, group, units, chunk: 25 });
      },
    });
    expect(await fanout.drain("multi")).toBe(true);
    expect(passes).toEqual([[1, 3, 4]]);
    for (const u of users) expect(await received(u, "multi")).toEqual({ frames: 3, seqs: range(4) });
    expect(await fanout.stats("multi")).toEqual({ delivered_seq: 4, messages: 4, frames: 3, bursts: 1 });
  });

  test("taking the lock records a pass only when the cursor has not moved since it was planned", async () => {
    const r = withGroupScripts(redis);
    const k = keys.group("cas");
    await redis.hset(k.cursor, "done", 4);
    expect(await r.acquirePass(k.lock, k.dirty, k.cursor, "me", 5_000, 3, "4:4")).toBe(2);
    expect(await redis.get(k.lock)).toBe("me");
    expect(await redis.hget(k.cursor, "unit")).toBeNull();
    expect(await r.acquirePass(k.lock, k.dirty, k.cursor, "me", 5_000, 4, "5:6,7:7")).toBe(1);
    expect(await redis.hget(k.cursor, "unit")).toBe("5:6,7:7");
    // A pass in flight is never replaced, even by its own drainer.
    expect(await r.acquirePass(k.lock, k.dirty, k.cursor, "me", 5_000, 4, "5:8")).toBe(2);
    expect(await redis.hget(k.cursor, "unit")).toBe("5:6,7:7");
    expect(await r.acquirePass(k.lock, k.dirty, k.cursor, "other", 5_000, 4, "5:8")).toBe(0);
    expect(await redis.get(k.dirty)).toBe("1");
    expect(await redis.hget(k.cursor, "unit")).toBe("5:6,7:7");
  });

  test("concurrent drains: one drains, the other returns at once, and nothing is lost or repeated", async () => {
    const now = Date.now();
    await store.create("race", "race", "x", ["y"], now);
    const a = new GroupFanout({ redis, store, delivery, keys });
    const b = new GroupFanout({ redis, store, delivery, keys });
    const posts: Promise<unknown>[] = [];
    const drains: Promise<boolean>[] = [];
    for (let i = 0; i < 20; i++) {
      posts.push(store.post("race", i % 2 ? "x" : "y", crypto.randomUUID(), `t${i}`, now + i * 10_000));
      drains.push((i % 2 ? a : b).drain("race"));
    }
    await Promise.all(posts);
    await Promise.all(drains);
    await a.drain("race");
    for (const u of ["x", "y"]) expect((await received(u, "race")).seqs).toEqual(range(20));
  });
});
