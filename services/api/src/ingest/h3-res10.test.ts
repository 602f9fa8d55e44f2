import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { cellToBoundary, cellToLatLng, getPentagons, gridDisk, latLngToCell } from "h3-js";
import { cellRes10, cellRes10Stats } from "./h3-res10.ts";

/** Asserts cellRes10 equals h3-js on every point; returns how many of them were computed without h3-js. */
function expectSame(points: readonly (readonly [number, number])[]): number {
  const before = cellRes10Stats.computed;
  for (const [lat, lng] of points) {
    const got = cellRes10(lat, lng);
    if (got !== latLngToCell(lat, lng, 10))
      expect({ lat, lng, got }).toEqual({ lat, lng, got: latLngToCell(lat, lng, 10) });
  }
  return cellRes10Stats.computed - before;
}

const DEG = 180 / Math.PI;
/** Points spread evenly over the sphere (fast-check's doubles favour their bounds). */
const sphere = fc
  .tuple(fc.integer({ min: 0, max: 2 ** 30 }), fc.integer({ min: 0, max: 2 ** 30 }))
  .map(([u, v]) => [Math.asin((2 * u) / 2 ** 30 - 1) * DEG, (360 * v) / 2 ** 30 - 180] as const);

describe("cellRes10 gives exactly h3-js's latLngToCell at resolution 10", () => {
  test("uniform over the sphere, and mostly without h3-js", () => {
    const points = fc.sample(sphere, { numRuns: 100_000, seed: 42 });
    // the first points of each face region teach it; pentagons' base cells always go to h3-js
    expect(expectSame(points)).toBeGreaterThan(0.85 * points.length);
  });

  test("a city: every fix computed here once its region is known", () => {
    const points = fc.sample(
      fc.tuple(fc.double({ min: 52.3, max: 52.7, noNaN: true }), fc.double({ min: 13.1, max: 13.7, noNaN: true })),
      { numRuns: 50_000, seed: 7 },
    );
    expectSame(points.slice(0, 100));
    expect(expectSame(points.slice(100))).toBeGreaterThan(0.999 * (points.length - 100));
  });

  test("on and a hair off the vertices of res-10 cells, where rounding is closest to a tie", () => {
    const cells = fc.sample(sphere, { numRuns: 2_000, seed: 3 }).map(([lat, lng]) => latLngToCell(lat, lng, 10));
    const points: [number, number][] = [];
    for (const cell of cells)
      for (const [lat, lng] of cellToBoundary(cell))
        for (const eps of [0, 1e-13, -1e-13, 1e-11, -1e-11, 1e-9, -1e-9, 1e-7, -1e-7, 1e-6, -1e-6]) {
          points.push([lat + eps, lng]);
          points.push([lat, lng + eps]);
        }
    expectSame(points);
  });

  test("the poles, the antimeridian, the pentagons and the icosahedron's face centres and edges", () => {
    const points: [number, number][] = [];
    const offsets = fc.sample(
      fc.tuple(fc.double({ min: -0.5, max: 0.5, noNaN: true }), fc.double({ min: -0.5, max: 0.5, noNaN: true })),
      {
        numRuns: 500,
        seed: 11,
      },
    );
    const around = (lat: number, lng: number, scale: number) => {
      for (const [a, b] of offsets)
        points.push([Math.max(-90, Math.min(90, lat + a * scale)), ((lng + b * scale + 540) % 360) - 180]);
    };
    for (const lat of [90, -90, 89.99999, -89.99999])
      for (const lng of [-180, -90, 0, 45, 180]) points.push([lat, lng]);
    for (const lng of [180, -180, 179.9999999, -179.9999999])
      for (const lat of [-60, -1, 0, 1, 60]) points.push([lat, lng]);
    around(89.9, 0, 0.2);
    around(-89.9, 0, 0.2);
    around(0, 180, 0.5);
    around(65, -180, 0.01);
    for (const pentagon of getPentagons(10)) {
      const [lat, lng] = cellToLatLng(pentagon);
      around(lat, lng, 0.01);
      for (const neighbour of gridDisk(pentagon, 2)) points.push(cellToLatLng(neighbour));
    }
    // face centres are the res-0 cells' centres that lie within one face; edges half-way between two of them
    for (const lat of [-60, -30, 0, 30, 60]) for (let lng = -180; lng < 180; lng += 20) around(lat, lng, 2);
    for (const base of fc.sample(sphere, { numRuns: 200, seed: 5 })) {
      const centre = cellToLatLng(latLngToCell(base[0], base[1], 0));
      around(centre[0], centre[1], 0.02);
    }
    expectSame(points);
  });
});
