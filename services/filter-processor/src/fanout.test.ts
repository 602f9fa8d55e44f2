import { describe, expect, test } from "bun:test";
import type { EntityFilter, PublicEntity, Viewport } from "@bump/contracts";
import { Registry } from "@bump/service";
import { Fanout } from "./fanout.ts";
import { ClientModel, Oracle, toPublic } from "./testing/client-model.ts";
import { MemorySink } from "./testing/memory-sink.ts";
import { randomEntityChange, randomFilter } from "./testing/random-changes.ts";
import { randomViewport, rng } from "./testing/random-geo.ts";
import { RbushViewportIndex } from "./viewport-index-rbush.ts";

interface Sim {
  box: Viewport | null;
  filter: EntityFilter | undefined;
  session: string;
}

function run(seed: number, useRbush: boolean, windowMs = 0) {
  const r = rng(seed);
  const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);
  const ids = Array.from({ length: 120 }, (_, i) => `ent-${i}`);
  const clients = new Map(users.map((u) => [u, new ClientModel()]));
  const sims = new Map<string, Sim>(users.map((u) => [u, { box: null, filter: undefined, session: "s1" }]));
  const oracle = new Oracle();
  const violations: string[] = [];
  let clock = 1_000_000;
  const sink = new MemorySink((user, text) => {
    const { upserts } = (clients.get(user) as ClientModel).apply(text);
    const sim = sims.get(user) as Sim;
    // Nothing from outside the viewport, excluded by the filter or the audience, and never a stale state.
    for (const e of upserts) {
      const cur = oracle.entities.get(e.id);
      if (!sim.box || !cur || !Oracle.visible(user, sim.box, sim.filter, cur)) violations.push(`${user} got ${e.id}`);
      else if (JSON.stringify(toPublic(cur)) !== JSON.stringify(e)) violations.push(`${user} got stale ${e.id}`);
    }
  });
  const fanout = new Fanout({
    sink,
    snapshotIntervalMs: 30,
    snapshotMax: 10_000,
    now: () => clock,
    registry: new Registry(),
    windowMs,
    ...(useRbush ? { index: new RbushViewportIndex() } : {}),
  });
  for (let step = 0; step < 3000; step++) {
    clock += Math.floor(r() * 3);
    const k = r();
    if (k < 0.15) {
      const user = users[Math.floor(r() * users.length)] as string;
      const sim = sims.get(user) as Sim;
      const clear = r() < 0.1;
      const box = clear ? null : r() < 0.7 || !sim.box ? randomViewport(r) : sim.box;
      const filter = r() < 0.5 ? randomFilter(r) : sim.filter;
      const session = r() < 0.1 ? `s${Math.floor(r() * 3)}` : sim.session;
      const res = fanout.applyViewport({
        user_id: user,
        session_id: session,
        viewport: box,
        ...(filter ? { filter } : {}),
        at: clock,
      });
      if (res === null) {
        sims.set(user, { box: null, filter: undefined, session });
        (clients.get(user) as ClientModel).held.clear();
      } else if (res) sims.set(user, { box, filter, session });
    } else if (k < 0.93) {
      const boxes = [...sims.values()].flatMap((s) => (s.box ? [s.box] : []));
      // Some changes arrive late (older than the held version): they must change nothing.
      const at = r() < 0.05 ? clock - 5 : clock;
      const change = randomEntityChange(r, ids, users, boxes, at);
      fanout.applyEntity(change);
      oracle.apply(change);
    } else {
      void fanout.flush();
    }
  }
  clock += windowMs;
  void fanout.flush();
  void fanout.flush();
  let compared = 0;
  for (const user of users) {
    const sim = sims.get(user) as Sim;
    if (!sim.box) continue;
    const want = oracle.expected(user, sim.box, sim.filter);
    const got = (clients.get(user) as ClientModel).held;
    compared += want.size;
    const sorted = (m: Map<string, PublicEntity>) => [...m.values()].sort((a, b) => a.id.localeCompare(b.id));
    expect({ user, held: sorted(got) }).toEqual({ user, held: sorted(want) });
  }
  expect(violations).toEqual([]);
  return compared;
}

describe("Fanout against a brute-force oracle", () => {
  for (const useRbush of [false, true]) {
    test(`every client ends holding exactly its visible entities, latest state (${useRbush ? "rbush" : "grid"})`, () => {
      let compared = 0;
      for (const seed of [11, 12, 13, 14]) compared += run(seed, useRbush);
      expect(compared).toBeGreaterThan(50);
    });
  }

  test("the same with a per-user window: frames held inside it still end in the latest state", () => {
    let compared = 0;
    for (const seed of [21, 22, 23]) compared += run(seed, false, 6);
    expect(compared).toBeGreaterThan(30);
  });

  test("the fan-out cap cuts affected users and counts it", async () => {
    const registry = new Registry();
    const got: string[] = [];
    const fanout = new Fanout({ sink: new MemorySink((u) => got.push(u)), maxFanout: 3, registry });
    for (let i = 0; i < 5; i++) {
      fanout.applyViewport({
        user_id: `u${i}`,
        session_id: "s",
        viewport: { south: 0, north: 1, west: 0, east: 1 },
        at: 1,
      });
    }
    await fanout.flush();
    got.length = 0;
    expect(fanout.applyEntity({ op: "upsert", id: "e", kind: "k", latitude: 0.5, longitude: 0.5, updated_at: 2 })).toBe(
      3,
    );
    await fanout.flush();
    expect(got.length).toBe(3);
    expect(registry.counter("filter_fanout_capped_total", "").get()).toBe(1);
  });

  test("with a window, a user's first change goes at once, later ones wait for the window and coalesce", async () => {
    let clock = 1_000;
    const frames: [string, string][] = [];
    const fanout = new Fanout({
      sink: new MemorySink((u, t) => frames.push([u, t])),
      registry: new Registry(),
      windowMs: 50,
      now: () => clock,
    });
    const box = { south: 0, north: 1, west: 0, east: 1 };
    for (const u of ["hot", "cold"]) fanout.applyViewport({ user_id: u, session_id: "s", viewport: box, at: 1 });
    await fanout.flush();
    const change = (id: string, t: number, latitude = 0.5) =>
      fanout.applyEntity({ op: "upsert", id, kind: "k", latitude, longitude: 0.5, data: { t }, updated_at: t });
    const data = () => frames.map(([u, t]) => [u, JSON.parse(t).entity?.data?.t]);

    frames.length = 0;
    change("e", 10);
    expect(fanout.hasDue).toBe(true);
    await fanout.flush();
    expect(data()).toEqual([
      ["hot", 10],
      ["cold", 10],
    ]);
    frames.length = 0;
    clock += 10;
    change("e", 11);
    change("e", 12);
    expect(fanout.hasDue).toBe(false);
    expect(fanout.nextDueAt).toBe(1_050);
    await fanout.flush();
    expect(frames).toEqual([]);
    expect(fanout.nextDueAt).toBe(1_050);
    clock += 40;
    expect(fanout.hasDue).toBe(true);
    await fanout.flush();
    expect(data()).toEqual([
      ["hot", 12],
      ["cold", 12],
    ]);
    expect(fanout.hasDue).toBe(false);
    expect(fanout.nextDueAt).toBe(Number.POSITIVE_INFINITY);
    frames.length = 0;
    clock += 10;
    change("e", 13);
    await fanout.flush(true);
    expect(data()).toEqual([
      ["hot", 13],
      ["cold", 13],
    ]);
  });

  test("a burst of changes to one entity is coalesced to its latest state per flush", async () => {
    const frames: string[] = [];
    const fanout = new Fanout({ sink: new MemorySink((_u, t) => frames.push(t)), registry: new Registry() });
    fanout.applyViewport({ user_id: "u", session_id: "s", viewport: { south: 0, north: 1, west: 0, east: 1 }, at: 1 });
    await fanout.flush();
    frames.length = 0;
    for (let t = 2; t < 12; t++) {
      fanout.applyEntity({
        op: "upsert",
        id: "e",
        kind: "k",
        latitude: 0.5,
        longitude: 0.5,
        data: { t },
        updated_at: t,
      });
    }
    await fanout.flush();
    expect(frames.length).toBe(1);
    expect(JSON.parse(frames[0] as string).entity.data).toEqual({ t: 11 });
  });
});
