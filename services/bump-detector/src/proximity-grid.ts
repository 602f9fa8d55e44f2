import { EARTH_RADIUS_M } from "@bump/geo";
import type { IndexedFix, ProximityIndex } from "./proximity-index.ts";

const RAD = Math.PI / 180;
/** Column numbers stay below this, so `row * COL_SPAN + col` is an exact integer key (below 2^53). */
const COL_SPAN = 2 ** 22;
/** Empty cell buckets are kept for reuse until there are this many more of them than users. */
const EMPTY_SLACK = 4_096;

/** A user's slot: its fix, the key of its cell and its position in that cell's bucket. */
interface Slot {
  fix: IndexedFix;
  key: number;
  pos: number;
}

/**
 * A {@link ProximityIndex} over a metric grid: rows of `radiusM` metres of latitude; each row is cut into as many
 * columns as fit with every column at least `radiusM` wide at the row's poleward edge (one column at the poles).
 * Columns wrap at the antimeridian. A query reads the rows within the radius and, in each, the columns within
 * the longitude span the radius can reach at the query's poleward latitude, so it never misses.
 *
 * Cells have integer keys and hold their users in flat arrays (swap-remove, each slot knows its position), so a
 * move costs one user lookup and at most one array push and pop; a query reads 3 x 3 or so arrays.
 */
export class GridProximityIndex implements ProximityIndex {
  private readonly users = new Map<string, Slot>();
  private readonly cells = new Map<number, Slot[]>();
  private empty = 0;
  private readonly rowDeg: number;
  private readonly perRowDeg: number;
  private readonly rows: number;
  private readonly colsOf: Int32Array;
  /** Columns per degree of longitude in each row. */
  private readonly colsPerDeg: Float64Array;
  private readonly sinHalf: number;

  /** @param radiusM the search radius in metres (> 0); it is also the cell size. */
  constructor(radiusM: number) {
    if (!(radiusM > 0)) throw new RangeError("radiusM must be positive");
    this.rowDeg = radiusM / (EARTH_RADIUS_M * RAD);
    this.perRowDeg = 1 / this.rowDeg;
    this.rows = Math.ceil(180 / this.rowDeg);
    this.colsOf = new Int32Array(this.rows);
    this.colsPerDeg = new Float64Array(this.rows);
    const circumference = 2 * Math.PI * EARTH_RADIUS_M;
    for (let r = 0; r < this.rows; r++) {
      const lo = -90 + r * this.rowDeg;
      const poleward = Math.min(90, Math.max(Math.abs(lo), Math.abs(lo + this.rowDeg)));
      const cols = Math.floor((circumference * Math.cos(poleward * RAD)) / radiusM);
      const n = Math.min(COL_SPAN - 1, Math.max(1, cols));
      this.colsOf[r] = n;
      this.colsPerDeg[r] = n / 360;
    }
    this.sinHalf = Math.sin(radiusM / (2 * EARTH_RADIUS_M));
  }

  get size(): number {
    return this.users.size;
  }

  private row(lat: number): number {
    const r = Math.floor((lat + 90) * this.perRowDeg);
    return r < 0 ? 0 : r >= this.rows ? this.rows - 1 : r;
  }

  private keyOf(lat: number, lng: number): number {
    const r = this.row(lat);
    const n = this.colsOf[r] as number;
    const c = Math.floor((lng + 180) * (this.colsPerDeg[r] as number)) % n;
    return r * COL_SPAN + c;
  }

  put(fix: IndexedFix): void {
    const key = this.keyOf(fix.lat, fix.lng);
    const slot = this.users.get(fix.user);
    if (slot) {
      slot.fix = fix;
      if (slot.key === key) return;
      this.unlink(slot);
      this.link(slot, key);
      return;
    }
    const fresh: Slot = { fix, key, pos: 0 };
    this.users.set(fix.user, fresh);
    this.link(fresh, key);
  }

  private link(slot: Slot, key: number): void {
    slot.key = key;
    let bucket = this.cells.get(key);
    if (!bucket) {
      bucket = [];
      this.cells.set(key, bucket);
    } else if (bucket.length === 0) this.empty--;
    slot.pos = bucket.length;
    bucket.push(slot);
  }

  private unlink(slot: Slot): void {
    const bucket = this.cells.get(slot.key) as Slot[];
    const last = bucket.pop() as Slot;
    if (last !== slot) {
      bucket[slot.pos] = last;
      last.pos = slot.pos;
    }
    if (bucket.length === 0 && ++this.empty > this.users.size + EMPTY_SLACK) this.dropEmpty();
  }

  /** Forgets empty buckets once they outnumber the users, so cells visited long ago cost no memory. */
  private dropEmpty(): void {
    for (const [key, bucket] of this.cells) if (bucket.length === 0) this.cells.delete(key);
    this.empty = 0;
  }

  get(user: string): IndexedFix | undefined {
    return this.users.get(user)?.fix;
  }

  delete(user: string): boolean {
    const slot = this.users.get(user);
    if (!slot) return false;
    this.users.delete(user);
    this.unlink(slot);
    return true;
  }

  forEachNear(lat: number, lng: number, cell: string, visit: (fix: IndexedFix) => void): void {
    const out: IndexedFix[] = [];
    this.collectNear(lat, lng, cell, out);
    for (const fix of out) visit(fix);
  }

  collectNear(lat: number, lng: number, _cell: string, out: IndexedFix[]): void {
    // A small slack absorbs floating-point rounding; it only ever widens the search.
    const dLat = this.rowDeg * 1.000001;
    const r0 = this.row(lat - dLat);
    const r1 = this.row(lat + dLat);
    const poleward = Math.min(90, Math.abs(lat) + dLat);
    const cosMin = Math.cos(poleward * RAD);
    const arg = cosMin > 0 ? this.sinHalf / cosMin : 2;
    const dLng = arg < 1 ? (2 * Math.asin(arg) * 1.000001) / RAD : 360;
    const cells = this.cells;
    for (let r = r0; r <= r1; r++) {
      const n = this.colsOf[r] as number;
      const perDeg = this.colsPerDeg[r] as number;
      let c0 = Math.floor((lng - dLng + 180) * perDeg);
      let c1 = Math.floor((lng + dLng + 180) * perDeg);
      if (c1 - c0 + 1 >= n) {
        c0 = 0;
        c1 = n - 1;
      }
      const base = r * COL_SPAN;
      for (let c = c0; c <= c1; c++) {
        const bucket = cells.get(base + (c < 0 ? c + n : c >= n ? c - n : c));
        if (bucket === undefined) continue;
        for (let i = 0; i < bucket.length; i++) out.push((bucket[i] as Slot).fix);
      }
    }
  }

  evictBefore(floor: number): number {
    let n = 0;
    for (const slot of this.users.values()) {
      if (slot.fix.at < floor) {
        this.delete(slot.fix.user);
        n++;
      }
    }
    return n;
  }
}
