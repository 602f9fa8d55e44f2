import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Delivery, RedisPresence } from "@bump/delivery";
import { createRedis } from "@bump/streams";
import { testRedisUrl } from "@bump/testing";
import { eventually, type GatewayProcess, type Harness, harness, jobFrame, range } from "./testing/harness.ts";

let h: Harness;
let a: GatewayProcess;
let b: GatewayProcess;
beforeAll(async () => {
  h = await harness();
  [a, b] = await Promise.all([h.gateway(), h.gateway()]);
});
afterAll(() => h.close());

describe("delivery through gateways", () => {
  test("a producer reaches users on either gateway, and no user sees another's frame", async () => {
    const alice = h.client(a, "alice");
    const bob = h.client(b, "bob");
    await Promise.all([alice.client.connect(), bob.client.connect()]);
    await h.delivery.deliver(["alice"], jobFrame("for-alice"), { reliable: true });
    await h.delivery.deliver(["bob"], jobFrame("for-bob"), { reliable: true });
    await h.delivery.deliver(["alice", "bob"], jobFrame("for-both"), { reliable: true });
    await eventually(() => alice.seqs().length === 2 && bob.seqs().length === 2);
    const ids = (r: typeof alice) => r.frames.flatMap((f) => (f.type === "job" ? [f.job.id] : []));
    expect(ids(alice)).toEqual(["for-alice", "for-both"]);
    expect(ids(bob)).toEqual(["for-bob", "for-both"]);
    expect(alice.seqs()).toEqual([1, 2]);
    await Bun.sleep(300);
    expect(ids(alice)).toEqual(["for-alice", "for-both"]);
  });

  test("two producers racing to one user: the socket sees every sequence once, in order", async () => {
    const carol = h.client(a, "carol");
    const carol2 = h.client(b, "carol");
    await Promise.all([carol.client.connect(), carol2.client.connect()]);
    // A second producer with its own connection, racing the first on the same user.
    const redis2 = createRedis(await testRedisUrl());
    const p2 = new Delivery({
      redis: redis2,
      keys: h.keys,
      presence: new RedisPresence({ redis: redis2, keys: h.keys }),
    });
    const p1 = h.delivery;
    // 270 frames: within the 300-frame history, which is what a gap fill reads (past it a socket gets `resync`).
    const send = (p: Delivery, tag: string) =>
      Promise.all(range(90).map((i) => p.deliver(["carol"], jobFrame(`${tag}${i}`), { reliable: true })));
    await Promise.all([send(p1, "p"), send(p2, "q"), send(p1, "r")]);
    await eventually(
      () => carol.seqs().length >= 270 && carol2.seqs().length >= 270,
      "270 frames on both of carol's sockets",
    );
    await Bun.sleep(300);
    expect(carol.seqs()).toEqual(range(270));
    expect(carol2.seqs()).toEqual(range(270));
    expect([...carol.frames, ...carol2.frames].some((f) => f.type === "resync")).toBe(false);
    redis2.disconnect();
  });

  test("a frame whose routing was lost is filled from history, even the last one", async () => {
    const dan = h.client(a, "dan");
    await dan.client.connect();
    await h.delivery.deliver(["dan"], jobFrame("1"), { reliable: true, route: false });
    await h.delivery.deliver(["dan"], jobFrame("2"), { reliable: true });
    await eventually(() => dan.seqs().length === 2);
    await h.delivery.deliver(["dan"], jobFrame("3"), { reliable: true, route: false });
    await eventually(() => dan.seqs().length === 3);
    expect(dan.seqs()).toEqual([1, 2, 3]);
  });

  test("after a dropped connection, resume yields exactly the missed frames in order", async () => {
    const erin = h.client(a, "erin");
    await erin.client.connect();
    for (const i of range(3)) await h.delivery.deliver(["erin"], jobFrame(`e${i}`), { reliable: true });
    await eventually(() => erin.seqs().length === 3);
    const since = erin.client.lastOffset as string;
    erin.client.close();
    for (const i of range(5)) await h.delivery.deliver(["erin"], jobFrame(`m${i}`), { reliable: true });
    const back = h.client(b, "erin", { since });
    const welcome = await back.client.connect();
    expect(welcome.resumed).toBe(true);
    await h.delivery.deliver(["erin"], jobFrame("live"), { reliable: true });
    await eventually(() => back.seqs().length === 6);
    expect(back.seqs()).toEqual([4, 5, 6, 7, 8, 9]);
    expect(back.frames.map((f) => f.type)).toEqual(["welcome", "job", "job", "job", "job", "job", "job"]);

    const stale = h.client(b, "erin", { since: "otherepoch:2" });
    expect((await stale.client.connect()).resumed).toBe(false);
    await eventually(() => stale.frames.some((f) => f.type === "resync"));
  });

  test("resuming at the head replays nothing, and the next live frame is the only one shown", async () => {
    // The reconnect after a gateway dies often lands before the next frame: history has nothing after `since`.
    const hal = h.client(a, "hal");
    await hal.client.connect();
    for (const i of range(4)) await h.delivery.deliver(["hal"], jobFrame(`h${i}`), { reliable: true });
    await eventually(() => hal.seqs().length === 4);
    let since = hal.client.lastOffset as string;
    hal.client.close();
    for (const gw of [a, b]) {
      const back = h.client(gw, "hal", { since });
      expect((await back.client.connect()).resumed).toBe(true);
      const live = (await h.delivery.deliver(["hal"], jobFrame(`live-${gw.id}`), { reliable: true }))[0];
      const seq = Number(live?.offset?.split(":")[1]);
      await eventually(() => back.seqs().length >= 1);
      // A gap fill triggered by the live frame would replay from the start: wait for a head check to pass too.
      await Bun.sleep(400);
      expect(back.seqs()).toEqual([seq]);
      since = back.client.lastOffset as string;
      back.client.close();
    }
  });

  test("a reconnecting client resumes by itself and loses nothing", async () => {
    const fay = h.client(a, "fay");
    await fay.client.connect();
    const sending = (async () => {
      for (const i of range(60)) {
        await h.delivery.deliver(["fay"], jobFrame(`f${i}`), { reliable: true });
        if (i % 15 === 0) fay.client.drop();
        await Bun.sleep(5);
      }
    })();
    await sending;
    await eventually(() => fay.seqs().length >= 60);
    expect(fay.seqs()).toEqual(range(60));
  });

  test("kill -9 of a gateway: its clients reconnect to another and lose no reliable frame", async () => {
    const c = await h.gateway();
    let target = c.url;
    const users = ["k1", "k2", "k3"];
    const recs = users.map((u) => h.client(() => target, u));
    await Promise.all(recs.map((r) => r.client.connect()));
    const sending = (async () => {
      for (const i of range(40)) {
        await h.delivery.deliver(users, jobFrame(`k${i}`), { reliable: true });
        if (i === 15) {
          target = a.url;
          await c.proc.kill9();
        }
        await Bun.sleep(10);
      }
    })();
    await sending;
    await eventually(() => recs.every((r) => r.seqs().length >= 40));
    for (const r of recs) expect(r.seqs()).toEqual(range(40));
  });

  test("graceful shutdown closes sockets with 1012 and removes presence", async () => {
    const d = await h.gateway();
    const gus = h.client(d, "gus", { reconnect: false });
    await gus.client.connect();
    expect(await h.redis.zscore(h.keys.user("gus").presence, d.id)).not.toBeNull();
    expect(await d.proc.stop()).toBe(0);
    await eventually(() => gus.closes.length > 0);
    expect(gus.closes).toEqual([1012]);
    expect(await h.redis.zscore(h.keys.user("gus").presence, d.id)).toBeNull();
  });
});
