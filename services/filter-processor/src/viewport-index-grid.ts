import { type Viewport, viewportContains } from "@bump/contracts";
import type { ViewportIndex } from "./viewport-index.ts";

/** Options of {@link GridViewportIndex}. */
export interface GridViewportIndexOptions {
  /** Cell size in degrees (latitude and longitude). Default 0.25. */
  cellDeg?: number;
  /** A viewport covering more cells than this is kept in a list scanned on every query. Default 256. */
  maxCells?: number;
}

interface Entry {
  readonly user: string;
  readonly box: Viewport;
  /** Cells holding the entry; empty for a large viewport. */
  readonly cells: number[];
}

/**
 * A uniform grid of `cellDeg` cells: each viewport is listed in every cell it overlaps (split at the
 * antimeridian), so a point query reads one cell and checks each candidate exactly. Viewports larger than
 * `maxCells` cells live in one list checked on every query, which bounds memory for world-sized boxes.
 */
export class GridViewportIndex implements ViewportIndex {
  private readonly cellDeg: number;
  private readonly maxCells: number;
  private readonly cols: number;
  private readonly rows: number;
  private readonly cells = new Map<number, Entry[]>();
  private readonly entries = new Map<string, Entry>();
  private readonly large: Entry[] = [];

  constructor(opts: GridViewportIndexOptions = {}) {
    this.cellDeg = opts.cellDeg ?? 0.25;
    this.maxCells = opts.maxCells ?? 256;
    this.cols = Math.ceil(360 / this.cellDeg);
    this.rows = Math.ceil(180 / this.cellDeg);
  }

  get size(): number {
    return this.entries.size;
  }

  private col(lng: number): number {
    return Math.min(this.cols - 1, Math.max(0, Math.floor((lng + 180) / this.cellDeg)));
  }

  private row(lat: number): number {
    return Math.min(this.rows - 1, Math.max(0, Math.floor((lat + 90) / this.cellDeg)));
  }

  set(user: string, box: Viewport): void {
    this.delete(user);
    const r0 = this.row(box.south);
    const r1 = this.row(box.north);
    const spans: [number, number][] =
      box.west <= box.east
        ? [[this.col(box.west), this.col(box.east)]]
        : [
            [this.col(box.west), this.cols - 1],
            [0, this.col(box.east)],
          ];
    let count = 0;
    for (const [c0, c1] of spans) count += (c1 - c0 + 1) * (r1 - r0 + 1);
    const entry: Entry = { user, box, cells: [] };
    this.entries.set(user, entry);
    if (count > this.maxCells) {
      this.large.push(entry);
      return;
    }
    for (const [c0, c1] of spans) {
      for (let r = r0; r <= r1; r++) {
        for (let c = c0; c <= c1; c++) {
          const key = r * this.cols + c;
          entry.cells.push(key);
          const list = this.cells.get(key);
          if (list) list.push(entry);
          else this.cells.set(key, [entry]);
        }
      }
    }
  }

  delete(user: string): boolean {
    const entry = this.entries.get(user);
    if (!entry) return false;
    this.entries.delete(user);
    if (entry.cells.length === 0) removeFrom(this.large, entry);
    for (const key of entry.cells) {
      const list = this.cells.get(key);
      if (!list) continue;
      removeFrom(list, entry);
      if (list.length === 0) this.cells.delete(key);
    }
    return true;
  }

  query(lat: number, lng: number, out: string[]): string[] {
    const list = this.cells.get(this.row(lat) * this.cols + this.col(lng));
    if (list) for (const e of list) if (viewportContains(e.box, lat, lng)) out.push(e.user);
    for (const e of this.large) if (viewportContains(e.box, lat, lng)) out.push(e.user);
    return out;
  }

  /** Both points in one pass over their cell when they share it (an entity that moved a little). */
  queryPair(aLat: number, aLng: number, bLat: number, bLng: number, outA: string[], outB: string[]): boolean {
    const key = this.row(aLat) * this.cols + this.col(aLng);
    if (key !== this.row(bLat) * this.cols + this.col(bLng)) return false;
    const list = this.cells.get(key);
    if (list) {
      for (const e of list) {
        if (viewportContains(e.box, aLat, aLng)) outA.push(e.user);
        if (viewportContains(e.box, bLat, bLng)) outB.push(e.user);
      }
    }
    for (const e of this.large) {
      if (viewportContains(e.box, aLat, aLng)) outA.push(e.user);
      if (viewportContains(e.box, bLat, bLng)) outB.push(e.user);
    }
    return true;
  }
}

/** Removes `item` from `list` by swapping with the last element (order is not kept). */
function removeFrom<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i < 0) return;
  const last = list.pop() as T;
  if (i < list.length) list[i] = last;
}
