import { describe, expect, test } from "bun:test";
import { parseLocationBatch, parseLocationInput } from "@bump/contracts";
import fc from "fast-check";
import { isLocationBatch, isLocationInput } from "./location-check.ts";

const NOW = Date.parse("2026-11-24T12:00:00.000Z");

const number = fc.oneof(
  fc.double(),
  fc.double({ min: -200, max: 200 }),
  fc.double({ min: -1, max: 10_001 }),
  fc.integer(),
  fc.constantFrom(0, -0, 90, -90, 180, -180, 10_000, 10_000.0001, 90.0000001, -180.0000001, Number.NaN, Infinity),
);
const other = fc.oneof(fc.string(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.array(fc.integer()));
const time = fc.oneof(
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.integer({ min: -600_000, max: 600_000 }).map((ms) => new Date(NOW + ms).toISOString()),
  fc.constantFrom(
    "2026-02-30T00:00:00Z",
    "2024-02-29T00:00:00Z",
    "2026-01-01",
    "2026-01-01T00:00Z",
    "2026-01-01T00:00:00+01:00",
    "2026-01-01T00:00:00.123456789-23:59",
    "2026-01-01T24:00:00Z",
    "2026-11-24T12:04:59.999Z",
    "2026-11-24T12:05:00.000Z",
    "2026-11-24T12:05:00.001Z",
    "1969-12-31T23:59:59Z",
    "",
  ),
);
const id = fc.oneof(
  fc.uuid(),
  fc.uuid().map((u) => u.toUpperCase()),
  fc.constantFrom("00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"),
  fc.constantFrom("00000000-0000-0000-0000-000000000001", "abc"),
  fc.string(),
);
const location = fc.record(
  {
    latitude: fc.oneof(number, other),
    longitude: fc.oneof(number, other),
    accuracy: fc.oneof(number, other),
    altitude: fc.oneof(number, other),
    recorded_at: fc.oneof(time, other),
    id: fc.oneof(id, other),
    user_id: fc.string(),
    extra: fc.jsonValue(),
  },
  { requiredKeys: [] },
);
/** Mostly well-formed fixes (so acceptance is exercised as much as rejection), some of them slightly off. */
const plausible = fc.record(
  {
    latitude: fc.double({ min: -91, max: 91 }),
    longitude: fc.double({ min: -181, max: 181 }),
    accuracy: fc.double({ min: -1, max: 10_001 }),
    altitude: fc.double(),
    recorded_at: time,
    id,
  },
  { requiredKeys: ["latitude", "longitude"] },
);
const input = fc.oneof(location, plausible, plausible, fc.jsonValue(), fc.anything());

describe("the hand-written location check accepts exactly what the contract's zod schema accepts", () => {
  test("single updates", () => {
    let accepted = 0;
    fc.assert(
      fc.property(input, (body) => {
        const zod = parseLocationInput(body, NOW).success;
        if (zod) accepted++;
        expect(isLocationInput(body, NOW)).toBe(zod);
      }),
      { numRuns: 5_000 },
    );
    expect(accepted).toBeGreaterThan(250);
  }, 60_000);

  test("batches", () => {
    const updates = fc.array(fc.oneof(plausible, plausible, plausible, location), { minLength: 0, maxLength: 8 });
    const batch = fc.oneof(
      updates.map((u) => ({ updates: u })),
      fc.record({ updates, extra: fc.jsonValue() }, { requiredKeys: [] }),
      fc.constant({ updates: Array.from({ length: 501 }, () => ({ latitude: 1, longitude: 2 })) }),
      fc.constant({ updates: Array.from({ length: 500 }, () => ({ latitude: 1, longitude: 2 })) }),
      fc.anything(),
    );
    let accepted = 0;
    fc.assert(
      fc.property(batch, (body) => {
        const zod = parseLocationBatch(body, NOW).success;
        if (zod) accepted++;
        expect(isLocationBatch(body, NOW)).toBe(zod);
      }),
      { numRuns: 2_000 },
    );
    expect(accepted).toBeGreaterThan(40);
  }, 60_000);

  test("parsed JSON bodies, including __proto__ and constructor keys", () => {
    const bodies = [
      '{"latitude":1,"longitude":2,"__proto__":{"accuracy":5}}',
      '{"__proto__":null,"latitude":1,"longitude":2}',
      '{"latitude":1,"longitude":2,"constructor":1}',
      '{"latitude":1,"longitude":2,"toString":"x"}',
      '{"latitude":1,"longitude":2,"accuracy":null}',
      '{"latitude":1,"longitude":2,"accuracy":10000,"altitude":-1e300}',
      '{"updates":[{"latitude":1,"longitude":2}]}',
    ];
    for (const text of bodies) {
      const body = JSON.parse(text);
      expect(isLocationInput(body, NOW)).toBe(parseLocationInput(body, NOW).success);
      expect(isLocationBatch(body, NOW)).toBe(parseLocationBatch(body, NOW).success);
    }
    expect(isLocationInput(JSON.parse(bodies[5] as string), NOW)).toBe(true);
  });
});
