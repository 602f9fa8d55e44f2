import { afterAll, beforeAll, expect, test } from "bun:test";
import { createJwt } from "@bump/auth";
import { type LocationEvent, locationEntry } from "@bump/contracts";
import { fixCell, partitionsFor } from "@bump/geo";
import { createRedis, type RedisClient as Redis, scanKeys, streamKeys, streamNames } from "@bump/streams";
import {
  createTestDatabase,
  freePort,
  type ServiceProcess,
  spawnService,
  type TestDatabase,
  testRedisUrl,
  uniquePrefix,
  waitForHttp,
} from "@bump/testing";
import { testSecret } from "./test-deps.ts";

const PARTITIONS = 2;
const ns = uniquePrefix("apiparts");
let redis: Redis;
let db: TestDatabase;
let api: ServiceProcess;
let base: string;
let token: string;

beforeAll(async () => {
  const url = await testRedisUrl();
  redis = createRedis(url);
  db = await createTestDatabase();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  api = spawnService("services/api/src/main.ts", {
    PORT: String(port),
    REDIS_URL: url,
    DATABASE_URL: db.url,
    AUTH_SECRET: testSecret,
    LOG_LEVEL: "warn",
    BUS_NAMESPACE: ns,
    BUMP_PARTITIONS: String(PARTITIONS),
  });
  await waitForHttp(`${base}/ready`, 60_000);
  token = await createJwt(testSecret).sign("alice");
}, 90_000);

afterAll(async () => {
  await api?.stop();
  for await (const keys of scanKeys(redis, `{${ns}:*`)) await Promise.all(keys.map((k) => redis.del(k)));
  redis.disconnect();
  await db?.close();
}, 30_000);

/** Points along a parallel, 0.01° apart: some deep in a region, some near a border between two partitions. */
function samplePoints(): { latitude: number; longitude: number; parts: number[] }[] {
  const out: { latitude: number; longitude: number; parts: number[] }[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < 2_000 && seen.size < 3; i++) {
    const latitude = 48.85;
    const longitude = 2 + i / 100;
    const parts = partitionsFor(fixCell(latitude, longitude), PARTITIONS);
    const kind = parts.join(",");
    if (seen.has(kind)) continue;
    seen.add(kind);
    out.push({ latitude, longitude, parts });
  }
  return out;
}

/** Ids of the fixes on `stream`; `strict`: every entry must be a valid `locationEntry` (one fix or several). */
async function idsOn(stream: string, strict = true): Promise<string[]> {
  const rows = (await redis.xrange(stream, "-", "+")) as [string, string[]][];
  return rows.flatMap(([, f]) => {
    const raw: unknown = JSON.parse(f[1] as string);
    if (strict) return locationEntry.parse(raw).map((e: LocationEvent) => e.id);
    return [raw as { id?: string }].flat().map((e) => String(e.id));
  });
}

test("BUMP_PARTITIONS=2: each fix lands on exactly the partitions partitionsFor names, under BUS_NAMESPACE", async () => {
  const points = samplePoints();
  // Both single partitions and a border fix published to both.
  expect(points.map((p) => p.parts.join(",")).sort()).toEqual(["0", "0,1", "1"]);
  const withIds = points.map((p, i) => ({ ...p, id: `00000000-0000-4000-8000-00000000000${i + 1}` }));
  const res = await fetch(`${base}/v1/locations/batch`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ updates: withIds.map(({ latitude, longitude, id }) => ({ latitude, longitude, id })) }),
  });
  expect(res.status).toBe(202);
  const plain = await fetch(`${base}/v1/locations`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ latitude: withIds[0]?.latitude, longitude: withIds[0]?.longitude }),
  });
  expect(plain.status).toBe(202);
  const plainId = ((await plain.json()) as { id: string }).id;
  const onPartition = await Promise.all(
    Array.from({ length: PARTITIONS }, (_, partition) =>
      idsOn(streamKeys(streamNames.locations, { ns, partition }).stream),
    ),
  );
  for (const p of withIds) {
    for (let part = 0; part < PARTITIONS; part++) {
      expect(onPartition[part]?.filter((id) => id === p.id).length).toBe(p.parts.includes(part) ? 1 : 0);
    }
  }
  const plainParts = withIds[0]?.parts ?? [];
  for (let part = 0; part < PARTITIONS; part++) {
    expect(onPartition[part]?.includes(plainId)).toBe(plainParts.includes(part));
  }
  // Nothing on the unpartitioned stream of the namespace, nor on the streams without namespace.
  const elsewhere = [
    streamKeys(streamNames.locations, { ns }).stream,
    streamKeys(streamNames.locations).stream,
    ...Array.from({ length: PARTITIONS }, (_, partition) => streamKeys(streamNames.locations, { partition }).stream),
  ];
  const ours = new Set([...withIds.map((p) => p.id), plainId]);
  for (const stream of elsewhere) expect((await idsOn(stream, false)).filter((id) => ours.has(id))).toEqual([]);
}, 30_000);
