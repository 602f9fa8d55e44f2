import { describe, expect, test } from "bun:test";
import { type BumpRules, bumpOracle, defaultBumpRules, pairKey, randomTrace, type TraceFix } from "@bump/geo";
import { cellToLatLng, getPentagons } from "h3-js";
import { BumpDetector, type Detection } from "./detector.ts";
import { createProximityIndex, proximityKinds } from "./proximity.ts";

const [pentLat, pentLng] = cellToLatLng(getPentagons(10)[5] as string);
const START = 1_750_000_000_000;

const places: [string, number, number][] = [
  ["city", 48.8566, 2.3522],
  ["antimeridian", -17.7, 180],
  ["north pole", 89.9995, 0],
  ["south pole", -89.9995, 0],
  ["pentagon", pentLat, pentLng],
];

/** The detector's output with the pair cooldown applied as the Redis script does (by bump time). */
function detect(kind: (typeof proximityKinds)[number], trace: TraceFix[], rules: BumpRules): Detection[] {
  const detector = new BumpDetector(createProximityIndex(kind, rules.radiusM), rules);
  const last = new Map<string, number>();
  const out: Detection[] = [];
  for (const fix of trace) {
    for (const d of detector.observe(fix)) {
      const key = pairKey(d.user_a, d.user_b);
      const prior = last.get(key);
      if (prior !== undefined && d.at < prior + rules.cooldownMs) continue;
      last.set(key, d.at);
      out.push(d);
    }
  }
  return out;
}

describe("bump detector against the brute-force oracle", () => {
  for (const [name, latitude, longitude] of places) {
    test(`random trace: ${name}`, () => {
      const trace = randomTrace({
        users: 2_000,
        fixes: 12_000,
        center: { latitude, longitude },
        spreadM: 1_500,
        startMs: START,
        durationMs: 180_000,
        seed: Math.round(latitude * 100 + longitude),
      });
      const rules = { ...defaultBumpRules, cooldownMs: 60_000 };
      const expected = bumpOracle(trace, rules)
        .map((b) => `${b.id} ${b.user_a} ${b.user_b} ${b.at}`)
        .sort();
      // Enough bumps to mean something, with repeats of pairs after their cooldown among them.
      expect(expected.length).toBeGreaterThan(50);
      expect(new Set(expected.map((e) => e.split(" ").slice(1, 3).join(" "))).size).toBeLessThan(expected.length);
      for (const kind of proximityKinds) {
        const got = detect(kind, trace, rules)
          .map((b) => `${b.id} ${b.user_a} ${b.user_b} ${b.at}`)
          .sort();
        expect(got).toEqual(expected);
      }
    }, 60_000);
  }

  test("bumps carry the completing fix's point and cell and the distance, across the antimeridian too", () => {
    const rules = defaultBumpRules;
    const detector = new BumpDetector(createProximityIndex("grid", 30), rules);
    const base = { recorded_at: START, received_at: START, accuracy: 5 };
    const a = { ...base, id: "a1", user_id: "zed", latitude: 10, longitude: 179.99995, cell: "8a0000000007fff" };
    const b = { ...base, id: "b1", user_id: "amy", latitude: 10, longitude: -179.99995, cell: "8a0000000017fff" };
    expect(detector.observe(a)).toEqual([]);
    const [d] = detector.observe(b);
    expect(d?.user_a).toBe("amy");
    expect(d?.user_b).toBe("zed");
    expect(d?.distance_m).toBeCloseTo(10.96, 1);
    expect(d?.longitude).toBe(b.longitude);
    expect(d?.cell).toBe(b.cell);
    expect(detector.observe(b)).toEqual([]);
  });
});
