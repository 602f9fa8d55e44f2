import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { RedisClient as Redis } from "@bump/streams";
import { createRedis, streamKeys } from "@bump/streams";
import { testRedisUrl } from "@bump/testing";
import {
  eventually,
  type GatewayProcess,
  type Harness,
  harness,
  jobFrame,
  range,
  tokenFor,
} from "./testing/harness.ts";
import { stalledSocket } from "./testing/stalled-socket.ts";

let h: Harness;
let gw: GatewayProcess;
let redis: Redis;
beforeAll(async () => {
  h = await harness();
  redis = createRedis(await testRedisUrl());
  gw = await h.gateway({ WS_OUTBOX_HIGH_WATER: "16384", WS_OUTBOX_MAX_BYTES: "262144", WS_RATE_STRIKES: "10" });
});
afterAll(async () => {
  await h.close();
  redis.disconnect();
});

/** A raw socket recording text frames and its close code. */
async function raw(query: string) {
  const texts: string[] = [];
  const ws = new WebSocket(`${gw.url}?${query}`);
  const closed = new Promise<number>((resolve) => {
    ws.onclose = (e) => resolve(e.code);
  });
  ws.onmessage = (e) => texts.push(String(e.data));
  await new Promise((r) => {
    ws.onopen = r;
  });
  const frames = () => texts.map((t) => JSON.parse(t) as Record<string, unknown>);
  return { ws, closed, frames };
}

const stream = (name: string) => streamKeys(name, { ns: h.ns }).stream;

describe("inbound frames", () => {
  test("bad frames get an error frame, keep the socket open and publish nothing", async () => {
    const s = await raw(`token=${await tokenFor("ivy")}`);
    await eventually(() => s.frames().some((f) => f.type === "welcome"));
    s.ws.send("not json");
    s.ws.send(JSON.stringify({ type: "teleport" }));
    s.ws.send(JSON.stringify({ type: "location", latitude: 91, longitude: 0, id: crypto.randomUUID() }));
    s.ws.send(JSON.stringify({ type: "location", latitude: 1, longitude: 2, user_id: "mallory" }));
    s.ws.send(JSON.stringify({ type: "ping", id: "still-open" }));
    await eventually(() => s.frames().some((f) => f.type === "pong"));
    const codes = s.frames().flatMap((f) => (f.type === "error" ? [f.code] : []));
    expect(codes).toEqual(["bad_json", "unknown_type", "invalid_frame", "invalid_frame"]);
    expect(await redis.xlen(stream("locations"))).toBe(0);
    s.ws.send("x".repeat(70 * 1024));
    expect(await s.closed).toBe(1009);
  });

  test("authentication: a bad token or no auth frame closes 4001, a frame before auth 4400, auth frame works", async () => {
    expect(await (await raw("token=nope")).closed).toBe(4001);
    expect(await (await raw("")).closed).toBe(4001);
    const early = await raw("");
    early.ws.send(JSON.stringify({ type: "ping" }));
    expect(await early.closed).toBe(4400);
    const late = await raw("");
    late.ws.send(JSON.stringify({ type: "auth", token: await tokenFor("jay") }));
    await eventually(() => late.frames().some((f) => f.type === "welcome" && f.user_id === "jay"));
    late.ws.close();
  });

  test("a flood gets rate_limited errors, then close 4029", async () => {
    const s = await raw(`token=${await tokenFor("kim")}`);
    await eventually(() => s.frames().length > 0);
    for (let i = 0; i < 200; i++) s.ws.send(JSON.stringify({ type: "ping" }));
    expect(await s.closed).toBe(4029);
    expect(s.frames().some((f) => f.type === "error" && f.code === "rate_limited")).toBe(true);
  });

  test("a user over the per-gateway connection cap is closed with 4029", async () => {
    const token = await tokenFor("lee");
    const open = await Promise.all(range(10).map(() => raw(`token=${token}`)));
    await eventually(() => open.every((s) => s.frames().length > 0));
    expect(await (await raw(`token=${token}`)).closed).toBe(4029);
    for (const s of open) s.ws.close();
  });

  test("location frames reach the locations stream with an H3 cell and are acked; viewports reach theirs", async () => {
    const mo = h.client(gw, "mo");
    await mo.client.connect();
    const id = crypto.randomUUID();
    mo.client.sendLocation({ latitude: 52.52, longitude: 13.405, id });
    mo.client.sendLocation({ latitude: 52.52, longitude: 13.405, id });
    await eventually(() => mo.frames.filter((f) => f.type === "ack").length === 2);
    const entries = (await redis.xrange(stream("locations"), "-", "+")) as [string, string[]][];
    const events = entries.map(([, f]) => JSON.parse(f[1] as string));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ id, user_id: "mo", latitude: 52.52, cell: expect.stringMatching(/^8a/) });
    mo.client.setViewport({ north: 53, south: 52, east: 14, west: 13 });
    mo.client.setFilter({ kinds: ["car"] });
    await eventually(async () => (await redis.xlen(stream("viewports"))) === 2);
    const vps = ((await redis.xrange(stream("viewports"), "-", "+")) as [string, string[]][]).map(([, f]) =>
      JSON.parse(f[1] as string),
    );
    expect(vps[1]).toMatchObject({ user_id: "mo", viewport: { north: 53 }, filter: { kinds: ["car"] } });
  });
});

describe("delivery", () => {
  test("bumps on the bumps stream reach both users once, even when the bump is redelivered", async () => {
    const [na, nb] = [h.client(gw, "nia"), h.client(gw, "ned")];
    await Promise.all([na.client.connect(), nb.client.connect()]);
    const bump = {
      id: "bump-1",
      user_a: "nia",
      user_b: "ned",
      distance_m: 12.5,
      latitude: 52.52,
      longitude: 13.405,
      at: Date.now(),
      cell: "8a1f1d48945ffff",
    };
    await redis.xadd(stream("bumps"), "*", "d", JSON.stringify(bump));
    await redis.xadd(stream("bumps"), "*", "d", JSON.stringify(bump));
    await eventually(() => na.seqs().length === 1 && nb.seqs().length === 1);
    await Bun.sleep(500);
    const seen = na.frames.filter((f) => f.type === "bump");
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ bump: { id: "bump-1", user_id: "nia", other_user_id: "ned" } });
    expect(nb.frames.find((f) => f.type === "bump")).toMatchObject({ bump: { user_id: "ned", other_user_id: "nia" } });
  });

  test("a client that stops reading is closed with 4008; others keep receiving; memory stays bounded", async () => {
    const stalled = await stalledSocket(gw.port, await tokenFor("oz"));
    const pat = h.client(gw, "pat");
    await pat.client.connect();
    const big = "y".repeat(16 * 1024);
    let sent = 0;
    while ((await gw.metric("ws_slow_consumers_evicted_total")) === 0 && sent < 4000) {
      await Promise.all(
        range(50).map(() => h.delivery.deliver(["oz"], { ...jobFrame("big"), pad: big }, { reliable: true })),
      );
      sent += 50;
      expect(await gw.metric("ws_outbox_max_bytes")).toBeLessThanOrEqual(262144);
    }
    expect(await stalled.resume()).toBe(4008);
    await h.delivery.deliver(["pat"], jobFrame("after"), { reliable: true });
    await eventually(() => pat.seqs().length === 1);
    expect(pat.closes).toEqual([]);
  });
});
