/** In-process measures of the matching core: changes/s matched and flushed, snapshot cost. */

import type { Viewport } from "@bump/contracts";
import { Registry } from "@bump/service";
import type { EntitySink } from "../../services/filter-processor/src/entity-sink.ts";
import { Fanout } from "../../services/filter-processor/src/fanout.ts";
import type { ViewportIndex } from "../../services/filter-processor/src/viewport-index.ts";
import { change, rng } from "./data.ts";

/** Counts what a flush hands over, sending nothing. */
class CountingSink implements EntitySink {
  frames = 0;
  userFrames = 0;
  async deliver(users: readonly string[]): Promise<void> {
    this.frames++;
    this.userFrames += users.length;
  }
}

/** Results of one core run. */
export interface CoreResult {
  matchedPerS: number;
  deliveredPerS: number;
  usersPerChange: number;
  maxUsers: number;
  userFramesPerS: number;
  snapshotUs: number;
  snapshotSize: number;
}

/** Loads `boxes` as users' views, warms `entities` entity ids, then times `changes` changes. */
export async function runCore(
  index: ViewportIndex,
  boxes: readonly Viewport[],
  places: { lat: number; lng: number }[],
  changes: number,
): Promise<CoreResult> {
  const sink = new CountingSink();
  const fanout = new Fanout({ sink, index, registry: new Registry(), snapshotMax: 500, maxFanout: 10_000 });
  boxes.forEach((box, i) => {
    fanout.applyViewport({ user_id: `u${i}`, session_id: "s", viewport: box, at: 1 });
  });
  await fanout.flush();
  const r = rng(7);
  const ids = 50_000;
  let at = 10;
  for (let i = 0; i < ids; i++) fanout.applyEntity(change(r, places, ids, ++at));
  await fanout.flush();
  const events = Array.from({ length: changes }, () => change(r, places, ids, ++at));
  // Matched: index query, exact check, filter, audience, queueing per user.
  let users = 0;
  let maxUsers = 0;
  let t0 = performance.now();
  for (const e of events.slice(0, changes / 2)) {
    const n = fanout.applyEntity(e);
    users += n;
    if (n > maxUsers) maxUsers = n;
  }
  const matchedMs = performance.now() - t0;
  await fanout.flush();
  sink.userFrames = 0;
  // Matched and delivered: the same plus a flush (grouping, one sink call per distinct frame) every 250 changes,
  // i.e. 50 ms windows at 5k changes/s.
  const rest = events.slice(changes / 2);
  t0 = performance.now();
  for (let i = 0; i < rest.length; i++) {
    fanout.applyEntity(rest[i] as (typeof rest)[number]);
    if (i % 250 === 249) await fanout.flush();
  }
  await fanout.flush();
  const deliveredMs = performance.now() - t0;
  // Snapshot cost: building the snapshot frame of random users' views (timed), sizes counted afterwards.
  const sr = rng(9);
  const n = 2_000;
  const picked = Array.from({ length: n }, () => `u${Math.floor(sr() * boxes.length)}`);
  const texts: string[] = [];
  t0 = performance.now();
  for (const u of picked) {
    const view = fanout.view(u);
    if (view) texts.push(fanout.snapshot(u, view));
  }
  const snapshotMs = performance.now() - t0;
  let size = 0;
  for (const t of texts) size += (JSON.parse(t) as { entities: unknown[] }).entities.length;
  return {
    matchedPerS: (changes / 2 / matchedMs) * 1000,
    deliveredPerS: (rest.length / deliveredMs) * 1000,
    usersPerChange: users / (changes / 2),
    maxUsers,
    userFramesPerS: (sink.userFrames / deliveredMs) * 1000,
    snapshotUs: (snapshotMs / n) * 1000,
    snapshotSize: size / n,
  };
}
