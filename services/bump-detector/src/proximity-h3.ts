import { haversineM } from "@bump/geo";
import { gridDisk } from "h3-js";
import type { IndexedFix, NearQuery, ProximityIndex } from "./proximity-index.ts";

/** Neighbour rings kept in memory before the cache is dropped and rebuilt. */
const RING_CACHE_MAX = 200_000;

/**
 * A {@link ProximityIndex} over H3 resolution-10 cells: each fix sits in its own cell, a query reads the cell's
 * 1-ring (pentagons included). A res-10 1-ring contains every point within 30 m of any point of its centre
 * cell, so radii up to 30 m never miss.
 */
export class H3ProximityIndex implements ProximityIndex {
  private readonly users = new Map<string, IndexedFix>();
  private readonly cells = new Map<string, Map<string, IndexedFix>>();
  private readonly rings = new Map<string, string[]>();

  /** @param radiusM the search radius, at most 30 m. */
  constructor(radiusM: number) {
    if (radiusM > 30) throw new RangeError("the H3 res-10 1-ring covers radii up to 30 m");
  }

  get size(): number {
    return this.users.size;
  }

  put(given: IndexedFix): void {
    const fix = { ...given };
    this.delete(fix.user);
    this.users.set(fix.user, fix);
    let bucket = this.cells.get(fix.cell);
    if (!bucket) {
      bucket = new Map();
      this.cells.set(fix.cell, bucket);
    }
    bucket.set(fix.user, fix);
  }

  get(user: string): IndexedFix | undefined {
    return this.users.get(user);
  }

  delete(user: string): boolean {
    const prev = this.users.get(user);
    if (!prev) return false;
    this.users.delete(user);
    const bucket = this.cells.get(prev.cell);
    if (bucket) {
      bucket.delete(user);
      if (bucket.size === 0) this.cells.delete(prev.cell);
    }
    return true;
  }

  forEachNear(_lat: number, _lng: number, cell: string, visit: (fix: IndexedFix) => void): void {
    let ring = this.rings.get(cell);
    if (!ring) {
      if (this.rings.size >= RING_CACHE_MAX) this.rings.clear();
      ring = gridDisk(cell, 1);
      this.rings.set(cell, ring);
    }
    for (const c of ring) {
      const bucket = this.cells.get(c);
      if (bucket) for (const fix of bucket.values()) visit(fix);
    }
  }

  collectNear(lat: number, lng: number, cell: string, out: IndexedFix[]): void {
    this.forEachNear(lat, lng, cell, (fix) => out.push(fix));
  }

  collectWithin(q: NearQuery, out: IndexedFix[], distances: number[]): number {
    let read = 0;
    this.forEachNear(q.lat, q.lng, q.cell, (fix) => {
      read++;
      if (fix.user === q.user || fix.at < q.from || fix.at > q.to) return;
      const d = haversineM(q.lat, q.lng, fix.lat, fix.lng);
      if (d > q.radiusM) return;
      out.push(fix);
      distances.push(d);
    });
    return read;
  }

  evictBefore(floor: number): number {
    let n = 0;
    for (const fix of this.users.values()) {
      if (fix.at < floor) {
        this.delete(fix.user);
        n++;
      }
    }
    return n;
  }
}
