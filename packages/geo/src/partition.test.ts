import { describe, expect, test } from "bun:test";
import { cellToLatLng, cellToParent, getRes0Cells, gridDisk, latLngToCell } from "h3-js";
import { fixCell } from "./cell.ts";
import { haversineM } from "./haversine.ts";
import { PARTITION_RES, partitionOfCell, partitionsFor } from "./partition.ts";
import { offsetPoint, seededRandom } from "./trace.ts";

/** Points 1-29 m apart across the border of two neighbouring res-3 regions, at random places on the globe. */
function borderPairs(count: number, seed: number): [number, number, number, number][] {
  const rnd = seededRandom(seed);
  const res0 = getRes0Cells();
  const out: [number, number, number, number][] = [];
  while (out.length < count) {
    const base = res0[Math.floor(rnd() * res0.length)] as string;
    const [lat0, lng0] = cellToLatLng(base);
    const [lat, lng] = offsetPoint(lat0, lng0, (rnd() - 0.5) * 800_000, (rnd() - 0.5) * 800_000);
    const region = cellToParent(fixCell(lat, lng), PARTITION_RES);
    const ring = gridDisk(region, 1).filter((c) => c !== region);
    const other = ring[Math.floor(rnd() * ring.length)] as string;
    // Bisect between the two regions' centres for where the res-3 parent of the fix cell changes: the border.
    const [aLat, aLng] = cellToLatLng(region);
    const [bLat, bLng] = cellToLatLng(other);
    let lo = 0;
    let hi = 1;
    for (let i = 0; i < 60; i++) {
      const mid = (lo + hi) / 2;
      const c = cellToParent(fixCell(aLat + (bLat - aLat) * mid, aLng + (bLng - aLng) * mid), PARTITION_RES);
      if (c === region) lo = mid;
      else hi = mid;
    }
    if (Math.abs(bLng - aLng) > 180) continue;
    const pLat = aLat + (bLat - aLat) * lo;
    const pLng = aLng + (bLng - aLng) * lo;
    const d = 1 + rnd() * 28;
    const angle = rnd() * 2 * Math.PI;
    const [qLat, qLng] = offsetPoint(pLat, pLng, d * Math.cos(angle), d * Math.sin(angle));
    if (haversineM(pLat, pLng, qLat, qLng) > 30) continue;
    out.push([pLat, pLng, qLat, qLng]);
  }
  return out;
}

describe("partition router", () => {
  test("the owner is stable and always among the targets; one partition means partition 0", () => {
    const cell = fixCell(52.52, 13.405);
    expect(partitionsFor(cell, 1)).toEqual([0]);
    expect(partitionOfCell(cell, 8)).toBe(partitionOfCell(cell, 8));
    expect(partitionsFor(cell, 8)).toContain(partitionOfCell(cell, 8));
  });

  test("a fix deep inside its region goes to its owner alone", () => {
    const region = latLngToCell(52.52, 13.405, PARTITION_RES);
    const [lat, lng] = cellToLatLng(region);
    expect(partitionsFor(fixCell(lat, lng), 16)).toEqual([partitionOfCell(fixCell(lat, lng), 16)]);
  });

  test("two fixes within 30 m across a region border always share a partition", () => {
    let crossing = 0;
    for (const [pLat, pLng, qLat, qLng] of borderPairs(600, 7)) {
      const p = fixCell(pLat, pLng);
      const q = fixCell(qLat, qLng);
      if (cellToParent(p, PARTITION_RES) !== cellToParent(q, PARTITION_RES)) crossing++;
      for (const parts of [2, 3, 16]) {
        const shared = partitionsFor(p, parts).filter((x) => partitionsFor(q, parts).includes(x));
        expect(shared.length).toBeGreaterThan(0);
      }
    }
    // The pairs really straddle borders (else the check above proves nothing).
    expect(crossing).toBeGreaterThan(150);
  }, 30_000);
});
