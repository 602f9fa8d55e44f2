import { EARTH_RADIUS_M, haversineM } from "@bump/geo";
import type { IndexedFix, NearQuery, ProximityIndex } from "./proximity-index.ts";

const RAD = Math.PI / 180;

// A user's slot: STRIDE doubles of `data` (one 64-byte line), its strings aside in `users`, `ids` and `cells`.
const STRIDE = 8;
const LAT = 0;
const LNG = 1;
const AT = 2;
/** Next and previous slot in the cell's list (-1: none). */
const NEXT = 3;
const PREV = 4;
const ROW = 5;
const COL = 6;
/** The cell's handle: record * 4 + column within the record. */
const CELL = 7;

// The cell table: open addressing over records of 4 neighbouring columns of a row, REC int32s each.
const REC = 8;
const R_ROW = 0;
const R_BLOCK = 1;
/** The list heads of the record's 4 columns (-1: empty). */
const R_HEAD = 2;
const MIN_RECORDS = 1_024;

/**
 * A {@link ProximityIndex} over a metric grid: rows of `radiusM` metres of latitude; each row is cut into as many
 * columns as fit with every column at least `radiusM` wide at the row's poleward edge (one column at the poles).
 * Columns wrap at the antimeridian. A query reads the rows within the radius and, in each, the columns within
 * the longitude span the radius can reach at the query row's poleward edge, so it never misses.
 *
 * Memory is flat: each user's point, time and cell links sit in one 64-byte slot of a Float64Array; a cell is a list
 * threaded through the slots, its head kept in an open-addressing table of records of 4 neighbouring columns, so a
 * query reads about 6 records and the slots of its candidates, and a move costs one user lookup and no allocation
 * beyond its fix.
 */
export class GridProximityIndex implements ProximityIndex {
  private readonly slotOf = new Map<string, number>();
  private readonly users: string[] = [];
  private readonly ids: string[] = [];
  private readonly cells: string[] = [];
  private data = new Float64Array(1_024 * STRIDE);
  private readonly freeSlots: number[] = [];
  private slots = 0;
  private table = new Int32Array(MIN_RECORDS * REC).fill(-1);
  private records = MIN_RECORDS;
  /** 32 - log2(records): a record's home is the top bits of a multiplicative hash. */
  private shift = 32 - Math.log2(MIN_RECORDS);
  /** Records in use, empty ones included (they are dropped when the table is rebuilt). */
  private used = 0;
  private readonly rowDeg: number;
  private readonly perRowDeg: number;
  private readonly rows: number;
  private readonly colsOf: Int32Array;
  /** Columns per degree of longitude in each row. */
  private readonly colsPerDeg: Float64Array;
  /** Per row: the longitude span (degrees, each side) a radius can reach from any point of the row. */
  private readonly reachOf: Float64Array;
  /** The latitude span (degrees, each side) of a radius, with a slack for rounding that only widens a search. */
  private readonly dLat: number;

  /** @param radiusM the search radius in metres (> 0); it is also the cell size. */
  constructor(private readonly radiusM: number) {
    if (!(radiusM > 0)) throw new RangeError("radiusM must be positive");
    this.rowDeg = radiusM / (EARTH_RADIUS_M * RAD);
    this.perRowDeg = 1 / this.rowDeg;
    this.rows = Math.ceil(180 / this.rowDeg);
    this.colsOf = new Int32Array(this.rows);
    this.colsPerDeg = new Float64Array(this.rows);
    this.reachOf = new Float64Array(this.rows);
    this.dLat = this.rowDeg * 1.000001;
    const circumference = 2 * Math.PI * EARTH_RADIUS_M;
    const sinHalf = Math.sin(radiusM / (2 * EARTH_RADIUS_M));
    for (let r = 0; r < this.rows; r++) {
      const lo = -90 + r * this.rowDeg;
      const edge = Math.min(90, Math.max(Math.abs(lo), Math.abs(lo + this.rowDeg)));
      const cols = Math.floor((circumference * Math.cos(edge * RAD)) / radiusM);
      // at most 2^30 columns, so column numbers stay int32 (a wider column only widens a search)
      const n = Math.min(2 ** 30, Math.max(1, cols));
      this.colsOf[r] = n;
      this.colsPerDeg[r] = n / 360;
      // the farthest a point within the radius of any point of the row can be in longitude
      const cosMin = Math.cos(Math.min(90, edge + this.dLat) * RAD);
      const arg = cosMin > 0 ? sinHalf / cosMin : 2;
      this.reachOf[r] = arg < 1 ? (2 * Math.asin(arg) * 1.000001) / RAD : 360;
    }
  }

  get size(): number {
    return this.slotOf.size;
  }

  private row(lat: number): number {
    const r = Math.floor((lat + 90) * this.perRowDeg);
    return r < 0 ? 0 : r >= this.rows ? this.rows - 1 : r;
  }

  put(fix: IndexedFix): void {
    const row = this.row(fix.lat);
    const n = this.colsOf[row] as number;
    const col = Math.floor((fix.lng + 180) * (this.colsPerDeg[row] as number)) % n;
    let s = this.slotOf.get(fix.user);
    let moved = true;
    if (s === undefined) {
      s = this.freeSlots.pop() ?? this.grow();
      this.slotOf.set(fix.user, s);
      this.users[s] = fix.user;
    } else {
      const o = s * STRIDE;
      moved = this.data[o + ROW] !== row || this.data[o + COL] !== col;
      if (moved) this.unlink(s);
    }
    this.ids[s] = fix.id;
    this.cells[s] = fix.cell;
    const d = this.data;
    const o = s * STRIDE;
    d[o + LAT] = fix.lat;
    d[o + LNG] = fix.lng;
    d[o + AT] = fix.at;
    if (!moved) return;
    d[o + ROW] = row;
    d[o + COL] = col;
    this.link(s, row, col);
  }

  /** The fix in slot `s` as an object. */
  private fixAt(s: number): IndexedFix {
    const o = s * STRIDE;
    const d = this.data;
    return {
      user: this.users[s] as string,
      id: this.ids[s] as string,
      lat: d[o + LAT] as number,
      lng: d[o + LNG] as number,
      at: d[o + AT] as number,
      cell: this.cells[s] as string,
    };
  }

  /** A new slot at the end, growing the slot array when full. */
  private grow(): number {
    const s = this.slots++;
    if (this.slots * STRIDE > this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    return s;
  }

  /** The record of (row, column block), or -1. */
  private find(row: number, block: number): number {
    const t = this.table;
    const mask = this.records - 1;
    for (let i = home(row, block, this.shift); ; i = (i + 1) & mask) {
      const r = t[i * REC + R_ROW] as number;
      if (r === -1) return -1;
      if (r === row && t[i * REC + R_BLOCK] === block) return i;
    }
  }

  /** The record of (row, column block), created when missing. */
  private claim(row: number, block: number): number {
    if ((this.used + 1) * 2 > this.records) this.rebuild();
    const t = this.table;
    const mask = this.records - 1;
    for (let i = home(row, block, this.shift); ; i = (i + 1) & mask) {
      const o = i * REC;
      const r = t[o + R_ROW] as number;
      if (r === row && t[o + R_BLOCK] === block) return i;
      if (r === -1) {
        t[o + R_ROW] = row;
        t[o + R_BLOCK] = block;
        this.used++;
        return i;
      }
    }
  }

  /**
   * Rebuilds the table with only its non-empty records, sized for four times as many (so cells visited long ago
   * cost no memory and probes stay short).
   */
  private rebuild(): void {
    const old = this.table;
    const oldRecords = this.records;
    let live = 0;
    for (let i = 0; i < oldRecords; i++) if (old[i * REC + R_ROW] !== -1 && hasHead(old, i)) live++;
    let records = MIN_RECORDS;
    while (records < live * 4) records *= 2;
    this.table = new Int32Array(records * REC).fill(-1);
    this.records = records;
    this.shift = 32 - Math.log2(records);
    this.used = 0;
    const d = this.data;
    for (let i = 0; i < oldRecords; i++) {
      const o = i * REC;
      if (old[o + R_ROW] === -1 || !hasHead(old, i)) continue;
      const j = this.claim(old[o + R_ROW] as number, old[o + R_BLOCK] as number);
      for (let k = 0; k < 4; k++) {
        const head = old[o + R_HEAD + k] as number;
        this.table[j * REC + R_HEAD + k] = head;
        for (let s = head; s !== -1; s = d[s * STRIDE + NEXT] as number) d[s * STRIDE + CELL] = j * 4 + k;
      }
    }
  }

  private link(s: number, row: number, col: number): void {
    const rec = this.claim(row, col >> 2);
    const h = rec * 4 + (col & 3);
    const t = this.table;
    const at = rec * REC + R_HEAD + (col & 3);
    const head = t[at] as number;
    const d = this.data;
    const o = s * STRIDE;
    d[o + NEXT] = head;
    d[o + PREV] = -1;
    d[o + CELL] = h;
    if (head !== -1) d[head * STRIDE + PREV] = s;
    t[at] = s;
  }

  private unlink(s: number): void {
    const d = this.data;
    const o = s * STRIDE;
    const next = d[o + NEXT] as number;
    const prev = d[o + PREV] as number;
    if (prev === -1) {
      const h = d[o + CELL] as number;
      this.table[(h >> 2) * REC + R_HEAD + (h & 3)] = next;
    } else d[prev * STRIDE + NEXT] = next;
    if (next !== -1) d[next * STRIDE + PREV] = prev;
  }

  get(user: string): IndexedFix | undefined {
    const s = this.slotOf.get(user);
    return s === undefined ? undefined : this.fixAt(s);
  }

  delete(user: string): boolean {
    const s = this.slotOf.get(user);
    if (s === undefined) return false;
    this.slotOf.delete(user);
    this.unlink(s);
    this.users[s] = "";
    this.ids[s] = "";
    this.cells[s] = "";
    this.freeSlots.push(s);
    return true;
  }

  forEachNear(lat: number, lng: number, cell: string, visit: (fix: IndexedFix) => void): void {
    const out: IndexedFix[] = [];
    this.collectNear(lat, lng, cell, out);
    for (const fix of out) visit(fix);
  }

  collectNear(lat: number, lng: number, _cell: string, out: IndexedFix[]): void {
    this.scan(lat, lng, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, undefined, this.radiusM, out, undefined);
  }

  collectWithin(q: NearQuery, out: IndexedFix[], distances: number[]): number {
    return this.scan(q.lat, q.lng, q.from, q.to, q.user, Math.min(q.radiusM, this.radiusM), out, distances);
  }

  /**
   * Visits the cells a radius around the point can reach. Without `distances`, appends every fix of them to `out`;
   * with, only those of another user than `user` with a time in [from, to] within `radiusM` (haversine), and their
   * distances. Returns the number of fixes read.
   */
  private scan(
    lat: number,
    lng: number,
    from: number,
    to: number,
    user: string | undefined,
    radiusM: number,
    out: IndexedFix[],
    distances: number[] | undefined,
  ): number {
    const dLat = this.dLat;
    const r0 = this.row(lat - dLat);
    const r1 = this.row(lat + dLat);
    const reach = this.reachOf[this.row(lat)] as number;
    const d = this.data;
    const t = this.table;
    const users = this.users;
    // no point farther than this in latitude alone can be within the radius
    const latLimit = dLat;
    let read = 0;
    for (let r = r0; r <= r1; r++) {
      const n = this.colsOf[r] as number;
      const perDeg = this.colsPerDeg[r] as number;
      let c0 = Math.floor((lng - reach + 180) * perDeg);
      let c1 = Math.floor((lng + reach + 180) * perDeg);
      if (c1 - c0 + 1 >= n) {
        c0 = 0;
        c1 = n - 1;
      }
      let rec = -2;
      let block = -1;
      for (let c = c0; c <= c1; c++) {
        const col = c < 0 ? c + n : c >= n ? c - n : c;
        if (col >> 2 !== block) {
          block = col >> 2;
          rec = this.find(r, block);
        }
        if (rec < 0) continue;
        for (let s = t[rec * REC + R_HEAD + (col & 3)] as number; s !== -1; s = d[s * STRIDE + NEXT] as number) {
          read++;
          if (distances === undefined) {
            out.push(this.fixAt(s));
            continue;
          }
          const o = s * STRIDE;
          const at = d[o + AT] as number;
          if (at < from || at > to) continue;
          const plat = d[o + LAT] as number;
          if (plat - lat > latLimit || lat - plat > latLimit) continue;
          const dist = haversineM(lat, lng, plat, d[o + LNG] as number);
          if (dist > radiusM) continue;
          if (users[s] === user) continue;
          out.push(this.fixAt(s));
          distances.push(dist);
        }
      }
    }
    return read;
  }

  evictBefore(floor: number): number {
    let n = 0;
    for (const [user, s] of this.slotOf) {
      if ((this.data[s * STRIDE + AT] as number) < floor) {
        this.delete(user);
        n++;
      }
    }
    return n;
  }
}

/** The home record of (row, column block) in a table of 2^(32 - shift) records. */
function home(row: number, block: number, shift: number): number {
  return Math.imul(Math.imul(row, 0x9e3779b1) ^ block, 0x85ebca6b) >>> shift;
}

function hasHead(t: Int32Array, rec: number): boolean {
  const o = rec * REC + R_HEAD;
  return t[o] !== -1 || t[o + 1] !== -1 || t[o + 2] !== -1 || t[o + 3] !== -1;
}
