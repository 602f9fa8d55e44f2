import { EARTH_RADIUS_M } from "@bump/geo";
import type { IndexedFix, ProximityIndex } from "./proximity-index.ts";

const RAD = Math.PI / 180;
/** Column numbers stay below this, so `row * COL_SPAN + col` is an exact integer key. */
const COL_SPAN = 2 ** 22;

/**
 * A {@link ProximityIndex} over a metric grid: rows of `radiusM` metres of latitude; each row is cut into as many
 * columns as fit with every column at least `radiusM` wide at the row's poleward edge (one column at the poles).
 * Columns wrap at the antimeridian. A query reads the rows within the radius and, in each, the columns within
 * the longitude span the radius can reach at the query's poleward latitude, so it never misses.
 */
export class GridProximityIndex implements ProximityIndex {
  private readonly users = new Map<string, { fix: IndexedFix; key: number }>();
  private readonly cells = new Map<number, Map<string, IndexedFix>>();
  private readonly rowDeg: number;
  private readonly rows: number;
  private readonly colsOf: Int32Array;
  private readonly sinHalf: number;

  /** @param radiusM the search radius in metres (> 0); it is also the cell size. */
  constructor(radiusM: number) {
    if (!(radiusM > 0)) throw new RangeError("radiusM must be positive");
    this.rowDeg = radiusM / (EARTH_RADIUS_M * RAD);
    this.rows = Math.ceil(180 / this.rowDeg);
    this.colsOf = new Int32Array(this.rows);
    const circumference = 2 * Math.PI * EARTH_RADIUS_M;
    for (let r = 0; r < this.rows; r++) {
      const lo = -90 + r * this.rowDeg;
      const poleward = Math.min(90, Math.max(Math.abs(lo), Math.abs(lo + this.rowDeg)));
      const cols = Math.floor((circumference * Math.cos(poleward * RAD)) / radiusM);
      this.colsOf[r] = Math.min(COL_SPAN - 1, Math.max(1, cols));
    }
    this.sinHalf = Math.sin(radiusM / (2 * EARTH_RADIUS_M));
  }

  get size(): number {
    return this.users.size;
  }

  private row(lat: number): number {
    const r = Math.floor((lat + 90) / this.rowDeg);
    return r < 0 ? 0 : r >= this.rows ? this.rows - 1 : r;
  }

  private keyOf(lat: number, lng: number): number {
    const r = this.row(lat);
    const n = this.colsOf[r] as number;
    const c = Math.floor((lng + 180) / (360 / n)) % n;
    return r * COL_SPAN + c;
  }

  put(fix: IndexedFix): void {
    this.delete(fix.user);
    const key = this.keyOf(fix.lat, fix.lng);
    this.users.set(fix.user, { fix, key });
    let bucket = this.cells.get(key);
    if (!bucket) {
      bucket = new Map();
      this.cells.set(key, bucket);
    }
    bucket.set(fix.user, fix);
  }

  get(user: string): IndexedFix | undefined {
    return this.users.get(user)?.fix;
  }

  delete(user: string): boolean {
    const prev = this.users.get(user);
    if (!prev) return false;
    this.users.delete(user);
    const bucket = this.cells.get(prev.key);
    if (bucket) {
      bucket.delete(user);
      if (bucket.size === 0) this.cells.delete(prev.key);
    }
    return true;
  }

  forEachNear(lat: number, lng: number, _cell: string, visit: (fix: IndexedFix) => void): void {
    // A small slack absorbs floating-point rounding; it only ever widens the search.
    const dLat = this.rowDeg * 1.000001;
    const r0 = this.row(lat - dLat);
    const r1 = this.row(lat + dLat);
    const poleward = Math.min(90, Math.abs(lat) + dLat);
    const cosMin = Math.cos(poleward * RAD);
    const arg = cosMin > 0 ? this.sinHalf / cosMin : 2;
    const dLng = arg < 1 ? (2 * Math.asin(arg) * 1.000001) / RAD : 360;
    for (let r = r0; r <= r1; r++) {
      const n = this.colsOf[r] as number;
      const w = 360 / n;
      let c0 = Math.floor((lng - dLng + 180) / w);
      let c1 = Math.floor((lng + dLng + 180) / w);
      if (c1 - c0 + 1 >= n) {
        c0 = 0;
        c1 = n - 1;
      }
      const base = r * COL_SPAN;
      for (let c = c0; c <= c1; c++) {
        const bucket = this.cells.get(base + (((c % n) + n) % n));
        if (bucket) for (const fix of bucket.values()) visit(fix);
      }
    }
  }

  evictBefore(floor: number): number {
    let n = 0;
    for (const { fix } of this.users.values()) {
      if (fix.at < floor) {
        this.delete(fix.user);
        n++;
      }
    }
    return n;
  }
}
