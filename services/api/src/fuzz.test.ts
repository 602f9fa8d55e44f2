import { afterAll, beforeAll, expect, test } from "bun:test";
import { errorBody } from "@bump/contracts";
import { testRedisUrl } from "@bump/testing";
import fc from "fast-check";
import type { Hono } from "hono";
import { createApp } from "./app.ts";
import { createTestDeps, type TestDeps } from "./test-deps.ts";

let t: TestDeps;
let app: Hono;
let token: string;

beforeAll(async () => {
  t = await createTestDeps({ redisUrl: await testRedisUrl(), database: false });
  app = createApp(t.deps);
  token = await t.jwt.sign("fuzzer");
}, 60_000);
afterAll(() => t.close());

const number = fc.oneof(
  fc.double(),
  fc.double({ min: -200, max: 200, noNaN: true }),
  fc.integer(),
  fc.constantFrom(0, -0, 90, -90, 180, -180, 90.0000001, 1e308, -1e308),
);
const anyValue = fc.oneof(
  number,
  fc.string(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
);
const time = fc.oneof(
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom("2026-02-30T00:00:00Z", "yesterday", "2026-01-01", "2026-01-01T00:00:00+01:00", ""),
);
const location = fc.record(
  {
    latitude: fc.oneof(number, anyValue),
    longitude: fc.oneof(number, anyValue),
    accuracy: fc.oneof(number, anyValue),
    altitude: fc.oneof(number, anyValue),
    recorded_at: fc.oneof(time, anyValue),
    id: fc.oneof(fc.uuid(), fc.string(), anyValue),
    user_id: fc.string(),
  },
  { requiredKeys: [] },
);
/** Well-formed fixes, so that acceptance is exercised too (the generators above are almost always rejected). */
const valid = fc.record(
  {
    latitude: fc.double({ min: -90, max: 90, noNaN: true }),
    longitude: fc.double({ min: -180, max: 180, noNaN: true }),
    accuracy: fc.double({ min: 0, max: 10_000, noNaN: true }),
    altitude: fc.double({ min: -500, max: 9_000, noNaN: true }),
    id: fc.uuid(),
  },
  { requiredKeys: ["latitude", "longitude"] },
);
/** Raw bodies: JSON of location-like objects, arbitrary JSON, broken text, and NaN/Infinity spliced in. */
const body = fc.oneof(
  { weight: 1, arbitrary: valid.map((l) => JSON.stringify(l)) },
  { weight: 5, arbitrary: location.map((l) => JSON.stringify(l)) },
  { weight: 2, arbitrary: fc.json() },
  { weight: 1, arbitrary: fc.string() },
  { weight: 1, arbitrary: location.map((l) => JSON.stringify(l).replace(/-?\d+(\.\d+)?(e[-+]?\d+)?/i, "NaN")) },
  { weight: 1, arbitrary: fc.array(location, { maxLength: 4 }).map((updates) => JSON.stringify({ updates })) },
);
const batchBody = fc.oneof(
  fc.array(valid, { minLength: 1, maxLength: 6 }).map((updates) => JSON.stringify({ updates })),
  fc.array(location, { maxLength: 6 }).map((updates) => JSON.stringify({ updates })),
  fc.json(),
  location.map((l) => JSON.stringify({ updates: [l], extra: 1 })),
);

async function check(path: string, raw: string): Promise<void> {
  const before = await t.redis.xlen(t.keys.stream);
  const res = await app.request(path, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: raw,
  });
  const after = await t.redis.xlen(t.keys.stream);
  expect(res.status).toBeLessThan(500);
  if (res.status >= 400) {
    expect(errorBody.safeParse(await res.json()).success).toBe(true);
    expect(after).toBe(before);
  } else {
    expect(res.status).toBe(202);
    const ok = (await res.json()) as { id?: string; ids?: string[] };
    expect(after - before).toBeLessThanOrEqual(ok.ids?.length ?? 1);
  }
}

test("thousands of generated single bodies: never a 5xx, never a write for a 4xx", async () => {
  await fc.assert(
    fc.asyncProperty(body, (raw) => check("/v1/locations", raw)),
    { numRuns: 2500 },
  );
}, 120_000);

test("generated batch bodies: never a 5xx, all or nothing", async () => {
  await fc.assert(
    fc.asyncProperty(batchBody, (raw) => check("/v1/locations/batch", raw)),
    { numRuns: 1000 },
  );
}, 120_000);

test("some generated bodies were accepted, so the property saw both outcomes", async () => {
  expect(await t.redis.xlen(t.keys.stream)).toBeGreaterThan(0);
});
