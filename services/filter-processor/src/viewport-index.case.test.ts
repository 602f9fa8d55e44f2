import { describe, expect, test } from "bun:test";
import { type Viewport, viewportContains } from "@bump/contracts";
import { randomPoint, randomViewport, rng } from "./testing/random-geo.ts";
import type { ViewportIndex } from "./viewport-index.ts";
import { GridViewportIndex } from "./viewport-index-grid.ts";
import { RbushViewportIndex } from "./viewport-index-rbush.ts";

const implementations: [string, () => ViewportIndex][] = [
  ["grid", () => new GridViewportIndex()],
  ["grid (coarse, small large-threshold)", () => new GridViewportIndex({ cellDeg: 2, maxCells: 4 })],
  ["rbush", () => new RbushViewportIndex()],
];

function oracle(boxes: Map<string, Viewport>, lat: number, lng: number): string[] {
  const out: string[] = [];
  for (const [user, box] of boxes) if (viewportContains(box, lat, lng)) out.push(user);
  return out.sort();
}

for (const [name, make] of implementations) {
  describe(`ViewportIndex: ${name}`, () => {
    test("answers exactly as the brute-force oracle on random boxes, edges, poles and the antimeridian", () => {
      for (const seed of [1, 2, 3]) {
        const r = rng(seed);
        const index = make();
        const boxes = new Map<string, Viewport>();
        for (let i = 0; i < 400; i++) {
          const user = `u${Math.floor(r() * 300)}`;
          if (r() < 0.1) {
            expect(index.delete(user)).toBe(boxes.delete(user));
          } else {
            const box = randomViewport(r);
            index.set(user, box);
            boxes.set(user, box);
          }
        }
        expect(index.size).toBe(boxes.size);
        const all = [...boxes.values()];
        let hits = 0;
        for (let i = 0; i < 3000; i++) {
          const { lat, lng } = randomPoint(r, all);
          const want = oracle(boxes, lat, lng);
          hits += want.length;
          expect({ lat, lng, users: index.query(lat, lng, []).sort() }).toEqual({ lat, lng, users: want });
        }
        expect(hits).toBeGreaterThan(1000);
      }
    });

    test("queryPair, where offered, answers both points as two queries would", () => {
      const r = rng(7);
      const index = make();
      const boxes = new Map<string, Viewport>();
      for (let i = 0; i < 300; i++) {
        const box = randomViewport(r);
        index.set(`u${i}`, box);
        boxes.set(`u${i}`, box);
      }
      const all = [...boxes.values()];
      let paired = 0;
      for (let i = 0; i < 2000; i++) {
        const a = randomPoint(r, all);
        const b = { lat: Math.max(-90, Math.min(90, a.lat + (r() - 0.5) * 0.2)), lng: a.lng + (r() - 0.5) * 0.2 };
        if (b.lng > 180) b.lng -= 360;
        if (b.lng < -180) b.lng += 360;
        const [outA, outB] = [[], []] as [string[], string[]];
        if (!index.queryPair?.(a.lat, a.lng, b.lat, b.lng, outA, outB)) {
          expect([outA, outB]).toEqual([[], []]);
          continue;
        }
        paired++;
        expect([outA.sort(), outB.sort()]).toEqual([oracle(boxes, a.lat, a.lng), oracle(boxes, b.lat, b.lng)]);
      }
      if (index.queryPair) expect(paired).toBeGreaterThan(100);
    });

    test("replacing and deleting a viewport takes effect at once", () => {
      const index = make();
      index.set("a", { south: 0, north: 1, west: 0, east: 1 });
      expect(index.query(0.5, 0.5, [])).toEqual(["a"]);
      index.set("a", { south: 10, north: 11, west: 179, east: -179 });
      expect(index.query(0.5, 0.5, [])).toEqual([]);
      expect(index.query(10.5, 180, [])).toEqual(["a"]);
      expect(index.query(10.5, -180, [])).toEqual(["a"]);
      expect(index.query(10.5, 0, [])).toEqual([]);
      expect(index.delete("a")).toBe(true);
      expect(index.delete("a")).toBe(false);
      expect(index.query(10.5, 180, [])).toEqual([]);
      expect(index.size).toBe(0);
    });
  });
}
