import { describe, expect, test } from "bun:test";
import { fixCell, haversineM, offsetPoint, seededRandom } from "@bump/geo";
import { cellToLatLng, getPentagons } from "h3-js";
import { createProximityIndex, proximityKinds } from "./proximity.ts";
import type { IndexedFix, ProximityIndex } from "./proximity-index.ts";

const RADIUS = 30;
const [pentLat, pentLng] = cellToLatLng(getPentagons(10)[3] as string);

/** Places where grids and cells distort: the equator, a city, both poles, the antimeridian, an H3 pentagon. */
const places: [string, number, number][] = [
  ["equator", 0, 0],
  ["berlin", 52.52, 13.405],
  ["north pole", 89.9997, 0],
  ["south pole", -89.9999, 120],
  ["antimeridian", -16.5, 179.9999],
  ["antimeridian west", 65.7, -179.99995],
  ["pentagon", pentLat, pentLng],
];

function at(user: string, lat: number, lng: number, t = 0): IndexedFix {
  return { user, id: `${user}-${t}`, lat, lng, at: t, cell: fixCell(lat, lng) };
}

function near(index: ProximityIndex, lat: number, lng: number): Set<string> {
  const seen = new Set<string>();
  index.forEachNear(lat, lng, fixCell(lat, lng), (f) => seen.add(f.user));
  return seen;
}

for (const kind of proximityKinds) {
  describe(`proximity index: ${kind}`, () => {
    test("put replaces the user's fix, get and delete see it, size counts users", () => {
      const index = createProximityIndex(kind, RADIUS);
      index.put(at("a", 52.52, 13.405, 1));
      index.put(at("b", 52.52, 13.405, 1));
      const [lat, lng] = offsetPoint(52.52, 13.405, 5_000, 0);
      index.put(at("a", lat, lng, 2));
      expect(index.size).toBe(2);
      expect(index.get("a")?.at).toBe(2);
      expect([...near(index, 52.52, 13.405)]).toEqual(["b"]);
      expect(near(index, lat, lng).has("a")).toBe(true);
      expect(index.delete("a")).toBe(true);
      expect(index.delete("a")).toBe(false);
      expect(index.get("a")).toBeUndefined();
      expect(near(index, lat, lng).has("a")).toBe(false);
      expect(index.size).toBe(1);
    });

    test("evictBefore removes exactly the fixes older than the floor", () => {
      const index = createProximityIndex(kind, RADIUS);
      for (let i = 0; i < 10; i++) index.put(at(`u${i}`, 10, 10 + i * 0.0001, i * 100));
      expect(index.evictBefore(500)).toBe(5);
      expect(index.size).toBe(5);
      for (let i = 0; i < 10; i++) expect(index.get(`u${i}`) !== undefined).toBe(i >= 5);
      expect(near(index, 10, 10.0004).has("u4")).toBe(false);
      expect(near(index, 10, 10.0005).has("u5")).toBe(true);
    });

    for (const [name, lat0, lng0] of places) {
      test(`never misses a fix within the radius: ${name}`, () => {
        const rnd = seededRandom(lat0 * 1000 + lng0);
        const index = createProximityIndex(kind, RADIUS);
        const points: [string, number, number][] = [];
        for (let i = 0; i < 1_500; i++) {
          const [lat, lng] = offsetPoint(lat0, lng0, (rnd() - 0.5) * 300, (rnd() - 0.5) * 300);
          points.push([`u${i}`, lat, lng]);
          index.put(at(`u${i}`, lat, lng));
        }
        let within = 0;
        for (let q = 0; q < 300; q++) {
          const [, lat, lng] = points[q] as [string, number, number];
          const seen = near(index, lat, lng);
          for (const [user, plat, plng] of points) {
            if (haversineM(lat, lng, plat, plng) <= RADIUS) {
              within++;
              expect(seen.has(user)).toBe(true);
            }
          }
        }
        expect(within).toBeGreaterThan(300);
      });

      test(`collectWithin gives exactly the other users within the radius and time range: ${name}`, () => {
        const rnd = seededRandom(lat0 * 7 + lng0 + 1);
        const index = createProximityIndex(kind, RADIUS);
        const points: IndexedFix[] = [];
        for (let i = 0; i < 1_500; i++) {
          const [lat, lng] = offsetPoint(lat0, lng0, (rnd() - 0.5) * 300, (rnd() - 0.5) * 300);
          const fix = at(`u${i}`, lat, lng, Math.floor(rnd() * 1_000));
          points.push(fix);
          index.put(fix);
        }
        let matched = 0;
        for (let q = 0; q < 300; q++) {
          const me = points[q] as IndexedFix;
          const radiusM = q % 2 === 0 ? RADIUS : RADIUS / 2;
          const query = { lat: me.lat, lng: me.lng, cell: me.cell, user: me.user, radiusM, from: 200, to: 800 };
          const out: IndexedFix[] = [];
          const distances: number[] = [];
          index.collectWithin(query, out, distances);
          const expected = points
            .filter((p) => p.user !== me.user && p.at >= 200 && p.at <= 800)
            .filter((p) => haversineM(me.lat, me.lng, p.lat, p.lng) <= radiusM)
            .map((p) => p.user)
            .sort();
          expect(out.map((f) => f.user).sort()).toEqual(expected);
          out.forEach((f, i) => {
            expect(distances[i]).toBe(haversineM(me.lat, me.lng, f.lat, f.lng));
          });
          matched += out.length;
        }
        expect(matched).toBeGreaterThan(100);
      });
    }
  });
}
