import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { RedisClient as Redis } from "@bump/streams";
import { createRedis } from "@bump/streams";
import { testRedisUrl, uniquePrefix } from "@bump/testing";
import { Delivery } from "./delivery.ts";
import { HistoryReader } from "./history.ts";
import { deliveryKeys } from "./keys.ts";
import { RedisPresence } from "./presence-redis.ts";
import { decodeRouted } from "./route.ts";

let redis: Redis;
beforeAll(async () => {
  redis = createRedis(await testRedisUrl());
});
afterAll(() => redis.disconnect());

function setup(window = {}) {
  const keys = deliveryKeys(uniquePrefix("dlv"));
  const presence = new RedisPresence({ redis, keys });
  const delivery = new Delivery({ redis, keys, presence, ...window });
  const history = new HistoryReader(redis, keys, window);
  return { keys, presence, delivery, history };
}

async function routed(keys: ReturnType<typeof deliveryKeys>, gateway: string) {
  const entries = (await redis.xrange(keys.gateway(gateway), "-", "+")) as [string, string[]][];
  return entries.flatMap(([, fields]) => decodeRouted(fields));
}

describe("Delivery", () => {
  test("reliable frames get consecutive offsets, enter history and are routed to the user's gateways", async () => {
    const { keys, presence, delivery, history } = setup();
    await presence.register("gw-a", ["alice"]);
    await presence.register("gw-b", ["bob"]);
    const receipts = await Promise.all([
      delivery.deliver(["alice", "bob"], { type: "job", n: 1 }, { reliable: true }),
      delivery.deliver(["alice"], { type: "job", n: 2 }, { reliable: true }),
    ]);
    const [e1, s1] = (receipts[0]?.[0]?.offset ?? "").split(":");
    expect(receipts[1]?.[0]?.offset).toBe(`${e1}:${Number(s1) + 1}`);
    expect(receipts[0]?.[0]?.gateways).toEqual(["gw-a"]);
    const a = await routed(keys, "gw-a");
    expect(a.map((f) => (f.kind === "reliable" ? [f.user, f.seq, JSON.parse(f.text).n] : null))).toEqual([
      ["alice", 1, 1],
      ["alice", 2, 2],
    ]);
    const b = await routed(keys, "gw-b");
    expect(b.map((f) => f.user)).toEqual(["bob"]);
    const read = await history.readSince("alice", `${e1}:0`);
    expect(read.kind).toBe("frames");
    if (read.kind === "frames") {
      expect(read.frames.map((f) => JSON.parse(f.text))).toEqual([
        { offset: `${e1}:1`, type: "job", n: 1 },
        { offset: `${e1}:2`, type: "job", n: 2 },
      ]);
    }
  });

  test("a retried frame id keeps its offset, is not appended twice and is routed as a nudge", async () => {
    const { keys, presence, delivery, history } = setup();
    await presence.register("gw", ["carol"]);
    const [first] = await delivery.deliver(["carol"], { type: "bump", x: 1 }, { reliable: true, id: "b1" });
    const [again] = await delivery.deliver(["carol"], { type: "bump", x: 1 }, { reliable: true, id: "b1" });
    expect(again?.offset).toBe(first?.offset as string);
    expect(again?.created).toBe(false);
    expect((await history.head("carol")).seq).toBe(1);
    expect((await routed(keys, "gw")).map((f) => f.kind)).toEqual(["reliable", "nudge"]);
  });

  test("users on one gateway get one frame each with their own offsets, with and without frame ids", async () => {
    const { keys, presence, delivery } = setup();
    await presence.register("gw", ["hal", "ivy", "jon"]);
    await delivery.deliver(["ivy"], { type: "job", n: 0 }, { reliable: true });
    const [plain, marked] = await Promise.all([
      delivery.deliver(["hal", "ivy", "jon"], { type: "job", n: 1 }, { reliable: true }),
      delivery.deliver(["ivy", "jon"], { type: "job", n: 2 }, { reliable: true, id: "k2" }),
    ]);
    expect(plain?.map((r) => [r.user, r.offset?.split(":")[1], r.created, r.gateways])).toEqual([
      ["hal", "1", true, ["gw"]],
      ["ivy", "2", true, ["gw"]],
      ["jon", "1", true, ["gw"]],
    ]);
    expect(marked?.map((r) => r.offset?.split(":")[1])).toEqual(["3", "2"]);
    const frames = (await routed(keys, "gw")).flatMap((f) =>
      f.kind === "reliable" ? [[f.user, `${f.epoch}:${f.seq}`, JSON.parse(f.text)]] : [],
    );
    const offsetOf = (u: string, i: number) =>
      [...(plain ?? []), ...(marked ?? [])].filter((r) => r.user === u)[i]?.offset;
    // Each user's frames in sequence order (users may interleave: on a cluster each slot has its own script call).
    const byUser = (u: string) => frames.slice(1).filter((f) => f[0] === u);
    expect(byUser("hal")).toEqual([["hal", offsetOf("hal", 0), { offset: offsetOf("hal", 0), type: "job", n: 1 }]]);
    for (const u of ["ivy", "jon"]) {
      expect(byUser(u)).toEqual([
        [u, offsetOf(u, 0), { offset: offsetOf(u, 0), type: "job", n: 1 }],
        [u, offsetOf(u, 1), { offset: offsetOf(u, 1), type: "job", n: 2 }],
      ]);
    }
  });

  test("a user's sequence and history live at least the retention after the last append, at most 5/4 of it", async () => {
    const { keys, delivery } = setup();
    const retentionMs = 3_600_000;
    const kept = new Delivery({ redis, keys, presence: new RedisPresence({ redis, keys }), retentionMs });
    await redis.hset(keys.user("kim").meta, "e", "old", "s", 7);
    await redis.pexpire(keys.user("kim").meta, 1_000);
    const [r] = await kept.deliver(["kim"], { type: "job" }, { reliable: true });
    expect(r?.offset).toBe("old:8");
    for (const key of [keys.user("kim").meta, keys.user("kim").history]) {
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(retentionMs - 60_000);
      expect(ttl).toBeLessThanOrEqual((retentionMs * 5) / 4);
    }
    await delivery.deliver(["kim"], { type: "job" }, { reliable: true });
    expect(await redis.pttl(keys.user("kim").meta)).toBeGreaterThan(retentionMs - 60_000);
    // A history stream lost while the meta lives is made again with an expiry.
    await redis.del(keys.user("kim").history);
    await kept.deliver(["kim"], { type: "job" }, { reliable: true });
    expect(await redis.pttl(keys.user("kim").history)).toBeGreaterThan(retentionMs - 60_000);
  });

  test("a meta written before `v` (epoch in `e`, deadline in `x`) is continued, renewed and then kept in `v`", async () => {
    const { keys, presence, delivery, history } = setup();
    const k = keys.user("olga");
    await presence.register("gw", ["olga"]);
    await redis.hset(k.meta, "e", "ep1", "s", 41, "x", Date.now() + 3_600_000);
    await redis.xadd(k.history, "*", "s", 41, "b", '"type":"job","n":41}');
    for (const key of [k.meta, k.history]) await redis.pexpire(key, 3_600_000);
    const [a] = await delivery.deliver(["olga"], { type: "job", n: 42 }, { reliable: true });
    expect(a).toMatchObject({ offset: "ep1:42", gateways: ["gw"] });
    for (const key of [k.meta, k.history]) expect(await redis.pttl(key)).toBeGreaterThan(86_400_000 - 60_000);
    expect((await redis.hget(k.meta, "v"))?.endsWith(" ep1")).toBe(true);
    const [b] = await delivery.deliver(["olga"], { type: "job", n: 43 }, { reliable: true, id: "o43" });
    const [again] = await delivery.deliver(["olga"], { type: "job", n: 43 }, { reliable: true, id: "o43" });
    expect([b?.offset, again?.offset, again?.created]).toEqual(["ep1:43", "ep1:43", false]);
    const read = await history.readSince("olga", "ep1:40");
    expect(read.kind === "frames" ? read.frames.map((f) => JSON.parse(f.text)) : read.kind).toEqual(
      [41, 42, 43].map((n) => ({ offset: `ep1:${n}`, type: "job", n })),
    );
  });

  test("reliable frames go to the gateways the user is on now: a registration, removal or expiry counts at once", async () => {
    const keys = deliveryKeys(uniquePrefix("dlv"));
    const presence = new RedisPresence({ redis, keys, ttlMs: 300 });
    const delivery = new Delivery({ redis, keys, presence });
    const gateways = async () =>
      [...((await delivery.deliver(["lea"], { type: "job" }, { reliable: true }))[0]?.gateways ?? [])].sort();
    await presence.register("gw-a", ["lea"]);
    expect(await gateways()).toEqual(["gw-a"]);
    await presence.register("gw-b", ["lea"]);
    expect(await gateways()).toEqual(["gw-a", "gw-b"]);
    await presence.unregister("gw-a", ["lea"]);
    expect(await gateways()).toEqual(["gw-b"]);
    await Bun.sleep(400);
    expect(await gateways()).toEqual([]);
    await presence.register("gw-c", ["lea"]);
    expect(await gateways()).toEqual(["gw-c"]);
    // Without the meta's note of the live gateways, the append reads the presence set itself.
    await redis.hdel(keys.user("lea").meta, "g");
    expect(await gateways()).toEqual(["gw-c"]);
    expect((await presence.lookup(["lea"])).get("lea")).toEqual(["gw-c"]);
  });

  test("a refreshed registration stays routed past the expiry it was first noted with", async () => {
    const keys = deliveryKeys(uniquePrefix("dlv"));
    const presence = new RedisPresence({ redis, keys, ttlMs: 2_000 });
    const delivery = new Delivery({ redis, keys, presence });
    const gateways = async () => (await delivery.deliver(["max"], { type: "job" }, { reliable: true }))[0]?.gateways;
    await presence.register("gw", ["max"]);
    expect(await gateways()).toEqual(["gw"]);
    await Bun.sleep(1_000);
    await presence.refresh("gw", ["max"]);
    await Bun.sleep(1_300);
    expect(await gateways()).toEqual(["gw"]);
  });

  test("volatile frames skip history and reach only live gateways", async () => {
    const { keys, presence, delivery, history } = setup();
    await presence.register("gw", ["dave"]);
    await presence.register("gw2", ["dave"]);
    await presence.unregister("gw2", ["dave"]);
    await delivery.deliver(["dave", "erin"], { type: "entity" }, { coalesceKey: "e1" });
    expect(await routed(keys, "gw")).toEqual([
      { kind: "volatile", user: "dave", key: "e1", text: '{"type":"entity"}' },
    ]);
    expect(await redis.exists(keys.gateway("gw2"))).toBe(0);
    expect((await history.head("dave")).epoch).toBeNull();
  });

  test("a volatile frame reaches every user on a gateway with its coalescing key", async () => {
    const { keys, presence, delivery } = setup();
    await presence.register("gw", ["lia", "max"]);
    const receipts = await Promise.all([
      delivery.deliver(["lia", "max", "ned"], '{"type":"entity","n":1}', { coalesceKey: "k: 1" }),
      delivery.deliver(["max"], '{"type":"entity","n":2}'),
    ]);
    expect(receipts.map((r) => r.map((x) => [x.user, x.gateways]))).toEqual([
      [
        ["lia", ["gw"]],
        ["max", ["gw"]],
        ["ned", []],
      ],
      [["max", ["gw"]]],
    ]);
    expect(await routed(keys, "gw")).toEqual([
      { kind: "volatile", user: "lia", key: "k: 1", text: '{"type":"entity","n":1}' },
      { kind: "volatile", user: "max", key: "k: 1", text: '{"type":"entity","n":1}' },
      { kind: "volatile", user: "max", key: "", text: '{"type":"entity","n":2}' },
    ]);
  });

  test("readSince answers resync for another epoch, a trimmed range or an offset ahead", async () => {
    const { keys, delivery, history } = setup({ maxLen: 5 });
    let last = "";
    for (let i = 0; i < 400; i++) {
      const [r] = await delivery.deliver(["frank"], { type: "job", i }, { reliable: true });
      last = r?.offset as string;
    }
    // Trimmed to its cap about every 16th frame, by whole stream nodes (at most 100 entries each by default).
    expect(await redis.xlen(keys.user("frank").history)).toBeLessThan(5 + 16 + 100);
    const epoch = last.split(":")[0];
    expect((await history.readSince("frank", `${epoch}:1`)).kind).toBe("resync");
    expect((await history.readSince("frank", `other:399`)).kind).toBe("resync");
    expect((await history.readSince("frank", `${epoch}:401`)).kind).toBe("resync");
    const tail = await history.readSince("frank", `${epoch}:397`);
    expect(tail.kind === "frames" ? tail.frames.map((f) => f.seq) : []).toEqual([398, 399, 400]);
    expect(tail.kind === "frames" && tail.after).toBe(397);
    // At the head: no frames, and the reader stands at `since`, not at the start of the epoch.
    const atHead = await history.readSince("frank", `${epoch}:400`);
    expect(atHead).toMatchObject({ kind: "frames", after: 400, frames: [] });
    expect((await history.readSince("nobody", `${epoch}:3`)).kind).toBe("resync");
  });

  test("a user's frames of one flush read back one by one, from any offset, past one history entry's 64", async () => {
    const { delivery, history } = setup();
    const receipts = await Promise.all(
      Array.from({ length: 150 }, (_, i) => delivery.deliver(["omar"], { type: "job", i }, { reliable: true })),
    );
    const offsets = receipts.map((r) => r[0]?.offset as string);
    const epoch = offsets[0]?.split(":")[0];
    expect(offsets).toEqual(Array.from({ length: 150 }, (_, i) => `${epoch}:${i + 1}`));
    for (const since of [0, 1, 63, 64, 65, 100, 149]) {
      const r = await history.readSince("omar", `${epoch}:${since}`);
      expect(r.kind === "frames" ? r.frames.map((f) => [f.seq, JSON.parse(f.text).i]) : r.kind).toEqual(
        Array.from({ length: 150 - since }, (_, k) => [since + k + 1, since + k]),
      );
    }
  });

  test("a lost history mints a new epoch", async () => {
    const { keys, delivery } = setup();
    const [a] = await delivery.deliver(["gina"], { type: "job" }, { reliable: true });
    await redis.del(keys.user("gina").meta, keys.user("gina").history);
    const [b] = await delivery.deliver(["gina"], { type: "job" }, { reliable: true });
    expect(b?.offset?.endsWith(":1")).toBe(true);
    expect(b?.offset).not.toBe(a?.offset as string);
  });
});
