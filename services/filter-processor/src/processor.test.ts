import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { EntityEvent, EntityFilter, PublicEntity, Viewport } from "@bump/contracts";
import { listDeadLetters } from "@bump/streams";
import { type ServiceProcess, waitFor } from "@bump/testing";
import { Oracle, toPublic } from "./testing/client-model.ts";
import { metric, type Topology, topology, type Viewer } from "./testing/e2e.ts";
import { randomEntityChange, randomFilter } from "./testing/random-changes.ts";
import { randomViewport, rng } from "./testing/random-geo.ts";

let topo: Topology;
const procs: { proc: ServiceProcess; port: number }[] = [];
const viewers: Viewer[] = [];
const views = new Map<string, { box: Viewport; filter: EntityFilter | undefined }>();
const oracle = new Oracle();
const r = rng(2026);
const ids = Array.from({ length: 80 }, (_, i) => `e${i}`);
let clock = Date.now();

beforeAll(async () => {
  topo = await topology();
  procs.push(await topo.startProcessor(0, 2), await topo.startProcessor(1, 2));
  for (let i = 0; i < 12; i++) viewers.push(await topo.viewer(`viewer-${i}`));
}, 120_000);

afterAll(async () => {
  await topo?.close();
});

async function setView(v: Viewer, box: Viewport, filter: EntityFilter | undefined) {
  views.set(v.user, { box, filter });
  expect(v.client.setViewport(box)).toBe(true);
  expect(v.client.setFilter(filter ?? {})).toBe(true);
}

async function publishChanges(n: number) {
  const boxes = [...views.values()].map((v) => v.box);
  const users = viewers.map((v) => v.user);
  const batch = [];
  for (let i = 0; i < n; i++) {
    const change = randomEntityChange(r, ids, users, boxes, ++clock);
    oracle.apply(change);
    batch.push(change);
  }
  await topo.entities.addMany(batch);
}

const sorted = (m: Map<string, PublicEntity>) => [...m.values()].sort((a, b) => a.id.localeCompare(b.id));

/** Waits until every viewer holds exactly what the oracle says, then asserts it (so a failure shows the diff). */
async function converged() {
  const want = (v: Viewer) => {
    const view = views.get(v.user);
    return view ? sorted(oracle.expected(v.user, view.box, view.filter)) : [];
  };
  const same = () => viewers.every((v) => Bun.deepEquals(sorted(v.model.held), want(v)));
  await waitFor(same, { timeoutMs: 60_000, what: "clients holding their visible entities" }).catch(() => {});
  for (const v of viewers)
    expect({ user: v.user, held: sorted(v.model.held) }).toEqual({ user: v.user, held: want(v) });
}

/** Every version received since `from` was one published, inside the viewer's view, passing its filter and audience. */
function nothingForeign(from: Map<string, number>) {
  const bad: string[] = [];
  for (const v of viewers) {
    const view = views.get(v.user) as { box: Viewport; filter: EntityFilter | undefined };
    for (const e of v.upserts.slice(from.get(v.user) ?? 0)) {
      const ev = oracle.versions.get(`${e.id}@${Date.parse(e.updated_at)}`);
      if (!ev || !Oracle.visible(v.user, view.box, view.filter, ev)) bad.push(`${v.user}:${e.id}`);
      else expect(e).toEqual(toPublic(ev));
    }
  }
  expect(bad).toEqual([]);
}

const marks = () => new Map(viewers.map((v) => [v.user, v.upserts.length]));

describe("filter-processor end to end (gateway sockets, two instances)", () => {
  test("every client converges to exactly its visible entities, in their latest state", async () => {
    for (const v of viewers) await setView(v, randomViewport(r), randomFilter(r));
    await waitFor(() => viewers.every((v) => v.snapshots > 0), { timeoutMs: 20_000, what: "first snapshots" });
    const from = marks();
    await publishChanges(250);
    await converged();
    nothingForeign(from);
    const counts = await Promise.all(procs.map((p) => metric(p.port, "filter_viewports")));
    expect(counts.reduce((a, b) => a + b, 0)).toBe(viewers.length);
    expect(counts.every((c) => c > 0)).toBe(true);
    expect(viewers.filter((v) => v.model.held.size > 0).length).toBeGreaterThan(2);
  }, 120_000);

  test("a viewport or filter change sends the difference; clients converge again", async () => {
    for (const v of viewers.slice(0, 8)) await setView(v, randomViewport(r), randomFilter(r));
    await Bun.sleep(200);
    await publishChanges(100);
    await converged();
  }, 120_000);

  test("bad viewports get an error frame and change nothing; bad viewport events are dead-lettered", async () => {
    const v = viewers[0] as Viewer;
    const errors = v.errors.length;
    v.client.send({ type: "viewport", north: 1, south: 2, east: 0, west: 0 });
    v.client.send({ type: "viewport", north: 91, south: 0, east: 0, west: 0 });
    v.client.send('{"type":"viewport","north":NaN,"south":0,"east":0,"west":0}');
    await waitFor(() => v.errors.length >= errors + 3, { what: "three error frames" });
    await topo.redis.xadd(topo.keys.viewports.stream, "*", "d", JSON.stringify({ user_id: v.user, viewport: 5 }));
    await waitFor(async () => (await listDeadLetters(topo.redis, topo.keys.viewports, 10)).length >= 2, {
      what: "dead letters (one per instance group)",
    });
    // The refused frames left the view as it was: the clients still converge to the views the test set.
    await publishChanges(40);
    await converged();
  }, 120_000);

  test("a killed instance restarts, rebuilds its viewports from Redis and delivery goes on", async () => {
    const victim = procs[0] as { proc: ServiceProcess; port: number };
    await victim.proc.kill9();
    await publishChanges(60);
    procs[0] = await topo.startProcessor(0, 2);
    expect(await metric(procs[0].port, "filter_viewports")).toBeGreaterThan(0);
    await publishChanges(60);
    await converged();
  }, 180_000);

  test("versions held by a user's batching window reach the client when the window ends, nothing following them", async () => {
    const v = viewers[11] as Viewer;
    await setView(v, { south: 10, north: 11, west: 20, east: 21 }, undefined);
    await Bun.sleep(300);
    // Versions of one entity a few ms apart: a user gets at most one flush per 20 ms window, so the last versions
    // arrive inside a window and go out only at its end, with no later change or flush to carry them.
    for (let i = 0; i < 10; i++) {
      const change: EntityEvent = {
        op: "upsert",
        id: "e-held",
        kind: "event",
        latitude: 10.5,
        longitude: 20.5,
        data: { n: i },
        updated_at: ++clock,
      };
      oracle.apply(change);
      await topo.entities.addMany([change]);
      await Bun.sleep(5);
    }
    await converged();
    expect(v.model.held.get("e-held")?.data).toEqual({ n: 9 });
  }, 120_000);
});
