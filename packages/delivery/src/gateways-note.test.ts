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

function setup() {
  const keys = deliveryKeys(uniquePrefix("note"));
  const presence = new RedisPresence({ redis, keys });
  const delivery = new Delivery({ redis, keys, presence });
  const history = new HistoryReader(redis, keys);
  const send = async (user: string) => {
    const [r] = await delivery.deliver([user], { type: "job" }, { reliable: true });
    return { offset: r?.offset, gateways: [...(r?.gateways ?? [])].sort() };
  };
  /** The meta's `w` split into `<deadline> <epoch>` and the note's gateways (sorted), with the note's `until`. */
  const w = async (user: string) => {
    const text = (await redis.hget(keys.meta(user), "w")) ?? "";
    const [deadline, epoch, until, ...gateways] = text.split(" ");
    return { head: `${deadline} ${epoch}`, epoch, until: Number(until), gateways: gateways.sort() };
  };
  return { keys, presence, delivery, history, send, w };
}

describe("the live gateways' note in the meta field w", () => {
  test("a presence change after the user has history rewrites the note in w, which the next append reads alone", async () => {
    const { keys, presence, send, w } = setup();
    await presence.register("gw-a", ["pia"]);
    const first = await send("pia");
    expect(first.gateways).toEqual(["gw-a"]);
    const before = await w("pia");
    expect(before).toMatchObject({ epoch: first.offset?.split(":")[0], gateways: ["gw-a"] });
    expect(await redis.hexists(keys.meta("pia"), "g")).toBe(0);

    await presence.register("gw-b", ["pia"]);
    const joined = await w("pia");
    expect(joined).toMatchObject({ head: before.head, gateways: ["gw-a", "gw-b"] });
    expect(joined.until).toBeGreaterThan(Date.now());
    // The note alone routes: the presence set is not read while the note is valid (here it is away for the append).
    const withoutPresence = async () => {
      const key = keys.presence("pia");
      const zset = await redis.zrange(key, 0, -1, "WITHSCORES");
      await redis.del(key);
      const sent = await send("pia");
      for (let i = 0; i < zset.length; i += 2) await redis.zadd(key, zset[i + 1] as string, zset[i] as string);
      return sent.gateways;
    };
    expect(await withoutPresence()).toEqual(["gw-a", "gw-b"]);

    await presence.unregister("gw-a", ["pia"]);
    expect((await w("pia")).gateways).toEqual(["gw-b"]);
    expect(await withoutPresence()).toEqual(["gw-b"]);
    await presence.unregister("gw-b", ["pia"]);
    expect(await w("pia")).toMatchObject({ head: before.head, gateways: [] });
    const last = await send("pia");
    expect(last).toEqual({ offset: `${before.epoch}:4`, gateways: [] });
    expect(await redis.hexists(keys.meta("pia"), "g")).toBe(0);
  });

  test("a meta of the previous form (v `<deadline> <epoch>`, g, e, s) keeps its epoch and sequence and gets w", async () => {
    const { keys, presence, history, send, w } = setup();
    const k = keys.user("quinn");
    const deadline = Date.now() + 3_600_000;
    // The noted gateway is on no presence set: routing to it shows that the valid `g` was read.
    await redis.hset(k.meta, "e", "ep2", "s", 41, "v", `${deadline} ep2`, "g", `${Date.now() + 60_000} gw-old`);
    await redis.xadd(k.history, "*", "s", 41, "b", '"type":"job","n":41}');
    for (const key of [k.meta, k.history]) await redis.pexpire(key, 3_600_000);

    expect(await send("quinn")).toEqual({ offset: "ep2:42", gateways: ["gw-old"] });
    const upgraded = await w("quinn");
    expect(upgraded).toMatchObject({ epoch: "ep2", gateways: ["gw-old"] });
    // Renewed: the new deadline in w, in v for producers of the previous version, and on both keys.
    const newDeadline = Number(upgraded.head.split(" ")[0]);
    expect(newDeadline).toBeGreaterThan(Date.now() + 86_400_000);
    expect(await redis.hget(k.meta, "v")).toBe(`${newDeadline} ep2`);
    for (const key of [k.meta, k.history]) expect(await redis.pttl(key)).toBeGreaterThan(86_400_000 - 60_000);
    expect(await redis.hexists(k.meta, "g")).toBe(0);

    expect(await send("quinn")).toEqual({ offset: "ep2:43", gateways: ["gw-old"] });
    await presence.register("gw-new", ["quinn"]);
    expect(await send("quinn")).toEqual({ offset: "ep2:44", gateways: ["gw-new"] });
    expect(await redis.hexists(k.meta, "g")).toBe(0);
    const read = await history.readSince("quinn", "ep2:40");
    expect(read.kind === "frames" ? read.frames.map((f) => f.seq) : read.kind).toEqual([41, 42, 43, 44]);
  });

  test("a previous-form meta whose g lapsed reads the presence set", async () => {
    const { keys, presence, send, w } = setup();
    const k = keys.user("rui");
    await presence.register("gw-live", ["rui"]);
    await redis.hset(k.meta, "e", "ep3", "s", 7, "v", `${Date.now() + 3_600_000} ep3`, "g", `${Date.now() - 1} gw-x`);
    expect(await send("rui")).toEqual({ offset: "ep3:8", gateways: ["gw-live"] });
    expect(await w("rui")).toMatchObject({ epoch: "ep3", gateways: ["gw-live"] });
    expect(await redis.hexists(k.meta, "g")).toBe(0);
  });

  test("a user registered before their first reliable frame is routed on that frame", async () => {
    const { keys, presence, send, w } = setup();
    await presence.register("gw", ["sam"]);
    // Only the note, in g, expiring with the registration.
    expect(await redis.hkeys(keys.meta("sam"))).toEqual(["g"]);
    expect(await redis.pttl(keys.meta("sam"))).toBeLessThanOrEqual(60_000);
    const first = await send("sam");
    expect(first.gateways).toEqual(["gw"]);
    const entries = (await redis.xrange(keys.gateway("gw"), "-", "+")) as [string, string[]][];
    expect(entries.flatMap(([, f]) => decodeRouted(f)).map((f) => (f.kind === "reliable" ? f.user : f.kind))).toEqual([
      "sam",
    ]);
    expect((await redis.hkeys(keys.meta("sam"))).sort()).toEqual(["e", "s", "w"]);
    expect(await w("sam")).toMatchObject({ epoch: first.offset?.split(":")[0], gateways: ["gw"] });
    expect(await redis.pttl(keys.meta("sam"))).toBeGreaterThan(86_400_000 - 60_000);
    await presence.register("gw-2", ["sam"]);
    expect((await send("sam")).gateways).toEqual(["gw", "gw-2"]);
  });

  test("a lapsed note is read again from the presence set and written back, the deadline and epoch kept", async () => {
    const { keys, presence, send, w } = setup();
    await presence.register("gw-live", ["tom"]);
    await send("tom");
    const { head } = await w("tom");
    await redis.hset(keys.meta("tom"), "w", `${head} ${Date.now() - 1} gw-gone`);
    expect((await send("tom")).gateways).toEqual(["gw-live"]);
    const again = await w("tom");
    expect(again).toMatchObject({ head, gateways: ["gw-live"] });
    expect(again.until).toBeGreaterThan(Date.now());
    // A w without a note (`<deadline> <epoch>` alone) reads the presence set too.
    await redis.hset(keys.meta("tom"), "w", head);
    expect((await send("tom")).gateways).toEqual(["gw-live"]);
    expect(await w("tom")).toMatchObject({ head, gateways: ["gw-live"] });
  });
});
