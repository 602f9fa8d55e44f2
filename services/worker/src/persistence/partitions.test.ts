import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type LocationEvent, locationEntryPayload } from "@bump/contracts";
import { createDb, type Database, migrate } from "@bump/db";
import { fixCell, PARTITION_RES, partitionsFor } from "@bump/geo";
import { Registry, silentLogger } from "@bump/service";
import { createRedis, partitionedStreamKeys, streamNames } from "@bump/streams";
import { createTestDatabase, type TestDatabase, testRedisUrl, uniquePrefix, waitFor } from "@bump/testing";
import { cellToBoundary, cellToParent } from "h3-js";
import { HISTORY_GROUP, startHistoryWriter } from "./history-writer.ts";
import type { Persistence } from "./persistence-consumer.ts";

const PARTITIONS = 4;
let testDb: TestDatabase;
let db: Database;
let redis: ReturnType<typeof createRedis>;
let writer: Persistence;
const ns = uniquePrefix("persist-parts");
const keys = partitionedStreamKeys(streamNames.locations, { ns, partitions: PARTITIONS });

beforeAll(async () => {
  testDb = await createTestDatabase();
  await migrate(testDb.url);
  db = createDb(testDb.url, { max: 2 });
  redis = createRedis(await testRedisUrl());
  writer = await startHistoryWriter({
    redis,
    db: db.db,
    probe: () => db.sql`select 1`,
    registry: new Registry(),
    logger: silentLogger,
    ns,
    partitions: PARTITIONS,
  });
}, 60_000);

afterAll(async () => {
  await writer.close();
  for (const k of keys) await redis.del(k.stream, k.dlq);
  redis.disconnect();
  await db.close();
  await testDb.close();
}, 30_000);

let seq = 0;
function fixAt(latitude: number, longitude: number): LocationEvent {
  seq++;
  return {
    id: crypto.randomUUID(),
    user_id: `u${seq % 40}`,
    latitude,
    longitude,
    recorded_at: 1_790_000_000_000 + seq,
    received_at: 1_790_000_000_000 + seq,
    cell: fixCell(latitude, longitude),
  };
}

describe("history writer over partitioned locations", () => {
  test("every fix is written exactly once, including those published to several partitions", async () => {
    // Points spread over the globe (every partition owns some), then points on the borders of a few regions.
    const fixes: LocationEvent[] = [];
    for (let i = 0; i < 400; i++) fixes.push(fixAt(-60 + ((i * 37) % 120), -170 + ((i * 53) % 340)));
    for (const [lat, lng] of [
      [52.52, 13.4],
      [48.85, 2.35],
      [40.71, -74.0],
      [-33.87, 151.2],
    ] as const) {
      const ring = cellToBoundary(cellToParent(fixCell(lat, lng), PARTITION_RES));
      ring.forEach(([aLat, aLng], v) => {
        const [bLat, bLng] = ring[(v + 1) % ring.length] as [number, number];
        for (let t = 0.1; t < 0.95; t += 0.2) fixes.push(fixAt(aLat + (bLat - aLat) * t, aLng + (bLng - aLng) * t));
      });
    }
    const copies = fixes.map((f) => partitionsFor(f.cell, PARTITIONS));
    expect(copies.filter((c) => c.length > 1).length).toBeGreaterThanOrEqual(10);
    expect(new Set(copies.flat()).size).toBe(PARTITIONS);

    // The first half as single-fix entries, the rest as the api appends them: one multi-fix entry per partition.
    const half = Math.floor(fixes.length / 2);
    await Promise.all(
      fixes
        .slice(0, half)
        .flatMap((f, i) =>
          (copies[i] ?? []).map((p) => redis.xadd(keys[p]?.stream ?? "", "*", "d", JSON.stringify(f))),
        ),
    );
    for (let p = 0; p < PARTITIONS; p++) {
      const own = fixes
        .slice(half)
        .flatMap((f, i) => ((copies[half + i] ?? []).includes(p) ? [JSON.stringify(f)] : []));
      for (let i = 0; i < own.length; i += 100)
        await redis.xadd(keys[p]?.stream ?? "", "*", "d", locationEntryPayload(own.slice(i, i + 100)));
    }

    const drained = async () => {
      for (const k of keys) {
        const groups = (await redis.xinfo("GROUPS", k.stream)) as unknown[][];
        const g = groups.find((row) => row[1] === HISTORY_GROUP) as unknown[] | undefined;
        if (!g || Number(g[5]) !== 0 || (g[11] !== null && Number(g[11]) !== 0)) return false;
      }
      return true;
    };
    await waitFor(drained, { what: "every partition's history group to drain" });
    await waitFor(async () => Number((await db.sql`select count(*)::int as n from locations`)[0]?.n) === fixes.length, {
      what: "rows",
    });
    const ids = (await db.sql`select id from locations`).map((r) => r.id as string);
    expect(ids.length).toBe(fixes.length);
    expect(new Set(ids)).toEqual(new Set(fixes.map((f) => f.id)));
  });
});
