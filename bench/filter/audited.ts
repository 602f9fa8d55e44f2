/**
 * The audited design on the same data: viewport centres in a Redis GEO set and each viewport as a JSON string;
 * per change one GEOSEARCH of 50 km around the entity, then a GET per candidate and the exact check. One change at
 * a time, as the audited processor handled them. Matching only: the audited design's publish per matched user is
 * left out (in its favour), as the core rows it is compared with send nothing either. Two variants:
 * - `pipelined`: the candidates' GETs in one pipeline (in the design's favour);
 * - `round-trips`: a GET round trip per candidate, as the audit describes the hot path ("per-candidate GET
 *   roundtrips").
 */

import type { EntityEvent } from "@bump/contracts";
import { type Viewport, viewportContains } from "@bump/contracts";
import type { RedisClient as Redis } from "@bump/streams";

/** Loads the viewports under `prefix`. */
export async function loadAudited(redis: Redis, prefix: string, boxes: readonly Viewport[]): Promise<void> {
  for (let i = 0; i < boxes.length; i += 5_000) {
    const pipe = redis.pipeline();
    boxes.slice(i, i + 5_000).forEach((b, j) => {
      const u = `u${i + j}`;
      const lat = Math.max(-85, Math.min(85, (b.north + b.south) / 2));
      let lng = b.west <= b.east ? (b.west + b.east) / 2 : (b.west + b.east + 360) / 2;
      if (lng > 180) lng -= 360;
      pipe.geoadd(`${prefix}:viewport:geo`, lng, lat, u);
      pipe.set(`${prefix}:viewport:${u}`, JSON.stringify(b));
    });
    await pipe.exec();
  }
}

/** Runs changes for `seconds`; returns changes/s and the mean number of candidates and matches. */
export async function runAudited(
  redis: Redis,
  prefix: string,
  events: readonly EntityEvent[],
  seconds: number,
  variant: "pipelined" | "round-trips" = "pipelined",
): Promise<{ perS: number; candidates: number; matched: number; done: number }> {
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  let done = 0;
  let candidates = 0;
  let matched = 0;
  while (performance.now() < end && done < events.length) {
    const e = events[done] as Extract<EntityEvent, { op: "upsert" }>;
    const users = (await redis.geosearch(
      `${prefix}:viewport:geo`,
      "FROMLONLAT",
      e.longitude,
      e.latitude,
      "BYRADIUS",
      50,
      "km",
    )) as string[];
    candidates += users.length;
    if (users.length && variant === "round-trips") {
      for (const u of users) {
        const v = await redis.get(`${prefix}:viewport:${u}`);
        if (v !== null && viewportContains(JSON.parse(v) as Viewport, e.latitude, e.longitude)) matched++;
      }
    } else if (users.length) {
      const pipe = redis.pipeline();
      for (const u of users) pipe.get(`${prefix}:viewport:${u}`);
      const res = (await pipe.exec()) ?? [];
      for (const [, v] of res) {
        if (typeof v === "string" && viewportContains(JSON.parse(v) as Viewport, e.latitude, e.longitude)) matched++;
      }
    }
    done++;
  }
  const ms = performance.now() - t0;
  return { perS: (done / ms) * 1000, candidates: candidates / done, matched: matched / done, done };
}
