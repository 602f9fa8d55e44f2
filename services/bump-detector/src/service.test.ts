import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { bumpEvent, locationEntryPayload, MAX_ENTRY_FIXES } from "@bump/contracts";
import {
  bumpOracle,
  defaultBumpRules,
  fixCell,
  PARTITION_RES,
  partitionOfCell,
  partitionsFor,
  randomTrace,
  traceFixId,
} from "@bump/geo";
import { createRedis, type RedisClient as Redis, scanKeys } from "@bump/streams";
import { testRedisUrl, uniquePrefix, waitFor } from "@bump/testing";
import { cellToLatLng, cellToParent, gridDisk } from "h3-js";
import { detectorKeys } from "./keys.ts";
import { BumpDetectorService } from "./service.ts";

let redis: Redis;
const services: BumpDetectorService[] = [];

beforeAll(async () => {
  redis = createRedis(await testRedisUrl());
});
afterAll(async () => {
  await Promise.all(services.map((s) => s.close()));
  redis.disconnect();
});

async function bumpsOf(stream: string) {
  const entries = (await redis.xrange(stream, "-", "+")) as [string, string[]][];
  return entries.map(([, f]) => bumpEvent.parse(JSON.parse(f[1] ?? "")));
}

function start(opts: ConstructorParameters<typeof BumpDetectorService>[0]): BumpDetectorService {
  const s = new BumpDetectorService({ blockMs: 50, ...opts });
  services.push(s);
  return s;
}

/** A minute of 1,500 users walking within 1.2 km of `center`, and the oracle's bumps of it (more than 50). */
function traceWithBumps(center: { latitude: number; longitude: number }, seed: number) {
  const trace = randomTrace({
    users: 1_500,
    fixes: 8_000,
    center,
    spreadM: 1_200,
    startMs: Date.now(),
    durationMs: 60_000,
    seed,
  });
  const expected = bumpOracle(trace, defaultBumpRules);
  expect(expected.length).toBeGreaterThan(50);
  return { trace, expected };
}

describe("bump-detector service", () => {
  test("a random trace on the stream gives exactly the oracle's bumps, each once", async () => {
    const keys = detectorKeys({ ns: uniquePrefix() });
    const { trace, expected } = traceWithBumps({ latitude: 40.7128, longitude: -74.006 }, 11);
    const pipe = redis.pipeline();
    for (const f of trace.slice(0, 4_000)) pipe.xadd(keys.locations.stream, "*", "d", JSON.stringify(f));
    await pipe.exec();
    const svc = start({ redis, keys, rules: defaultBumpRules, batchSize: 300 });
    await svc.start();
    const rest = redis.pipeline();
    for (const f of trace.slice(4_000)) rest.xadd(keys.locations.stream, "*", "d", JSON.stringify(f));
    await rest.exec();
    await waitFor(async () => svc.detector.stats.fixes >= trace.length, { timeoutMs: 20_000, what: "trace applied" });
    await svc.close();
    const got = await bumpsOf(keys.bumps.stream);
    expect(got.map((b) => b.id).sort()).toEqual(expected.map((b) => b.id).sort());
    expect(new Set(got.map((b) => `${b.user_a}|${b.user_b}`)).size).toBe(got.length);
    for (const b of got) expect(b.user_a < b.user_b).toBe(true);
    // Cooldown keys carry the bumps stream's hash tag.
    const cooldownKeys: string[] = [];
    for await (const batch of scanKeys(redis, `${keys.bumps.stream}:cooldown:*`)) cooldownKeys.push(...batch);
    expect(cooldownKeys.length).toBe(expected.length);
  }, 60_000);

  test("a random trace in multi-fix entries (as the api appends them, mixed with single fixes) gives exactly the oracle's bumps", async () => {
    const keys = detectorKeys({ ns: uniquePrefix() });
    const { trace, expected } = traceWithBumps({ latitude: -33.8688, longitude: 151.2093 }, 12);
    // entries of 1 to MAX_ENTRY_FIXES fixes, in trace order
    const entries: string[] = [];
    let sizes = 0;
    for (let i = 0, k = 0; i < trace.length; k++) {
      const size = [1, 2, 7, 40, MAX_ENTRY_FIXES, 1, 13][k % 7] as number;
      entries.push(locationEntryPayload(trace.slice(i, i + size).map((f) => JSON.stringify(f))));
      i += size;
      sizes = Math.max(sizes, size);
    }
    expect(sizes).toBe(MAX_ENTRY_FIXES);
    const half = Math.floor(entries.length / 2);
    const add = async (list: string[]) => {
      const pipe = redis.pipeline();
      for (const e of list) pipe.xadd(keys.locations.stream, "*", "d", e);
      await pipe.exec();
    };
    await add(entries.slice(0, half));
    const svc = start({ redis, keys, rules: defaultBumpRules, batchSize: 20 });
    await svc.start();
    await add(entries.slice(half));
    await waitFor(async () => svc.detector.stats.fixes >= trace.length, { timeoutMs: 20_000, what: "trace applied" });
    await svc.close();
    const got = await bumpsOf(keys.bumps.stream);
    expect(got.map((b) => b.id).sort()).toEqual(expected.map((b) => b.id).sort());
    expect(svc.detector.stats.fixes).toBe(trace.length);
  }, 60_000);

  test("a pair straddling a partition border is found by both partitions and bumps exactly once", async () => {
    const ns = uniquePrefix();
    const partitions = 2;
    // Two neighbouring res-3 regions owned by different partitions, and the border between them.
    let a = "";
    let b = "";
    for (const start of gridDisk(cellToParent(fixCell(52.52, 13.405), PARTITION_RES), 3)) {
      for (const other of gridDisk(start, 1)) {
        const ca = fixCell(...cellToLatLng(start));
        const cb = fixCell(...cellToLatLng(other));
        if (partitionOfCell(ca, partitions) !== partitionOfCell(cb, partitions)) {
          a = start;
          b = other;
        }
      }
      if (a) break;
    }
    expect(a && b).toBeTruthy();
    const [aLat, aLng] = cellToLatLng(a);
    const [bLat, bLng] = cellToLatLng(b);
    let lo = 0;
    let hi = 1;
    for (let i = 0; i < 60; i++) {
      const mid = (lo + hi) / 2;
      const parent = cellToParent(fixCell(aLat + (bLat - aLat) * mid, aLng + (bLng - aLng) * mid), PARTITION_RES);
      if (parent === a) lo = mid;
      else hi = mid;
    }
    const p = [aLat + (bLat - aLat) * lo, aLng + (bLng - aLng) * lo] as [number, number];
    const q = [aLat + (bLat - aLat) * hi, aLng + (bLng - aLng) * hi] as [number, number];
    const now = Date.now();
    const fixes = [
      { user: "ann", lat: p[0], lng: p[1], n: 1 },
      { user: "bob", lat: q[0], lng: q[1], n: 2 },
    ].map((f) => ({
      id: traceFixId(99, f.n),
      user_id: f.user,
      latitude: f.lat,
      longitude: f.lng,
      accuracy: 5,
      recorded_at: now,
      received_at: now,
      cell: fixCell(f.lat, f.lng),
    }));
    const owners = fixes.map((f) => partitionOfCell(f.cell, partitions));
    expect(owners[0]).not.toBe(owners[1]);
    const detectors = [0, 1].map((partition) =>
      start({ redis, keys: detectorKeys({ ns, partitions, partition }), rules: defaultBumpRules }),
    );
    await Promise.all(detectors.map((d) => d.start()));
    // As the api appends one request's fixes: one entry per partition, holding the fixes that partition gets.
    for (let part = 0; part < partitions; part++) {
      const mine = fixes.filter((f) => partitionsFor(f.cell, partitions).includes(part));
      if (mine.length === 0) continue;
      const payload = locationEntryPayload(mine.map((f) => JSON.stringify(f)));
      await redis.xadd(detectorKeys({ ns, partitions, partition: part }).locations.stream, "*", "d", payload);
    }
    await waitFor(() => detectors.every((d) => d.detector.stats.detections >= 1), { timeoutMs: 10_000 });
    await Promise.all(detectors.map((d) => d.close()));
    const got = await bumpsOf(detectorKeys({ ns }).bumps.stream);
    expect(got.map((g) => [g.user_a, g.user_b])).toEqual([["ann", "bob"]]);
  });
});
