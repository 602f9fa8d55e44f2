import type { EntityEvent, JsonObject, Viewport } from "@bump/contracts";
import { viewportContains } from "@bump/contracts";

/** A frame text shared by every user it goes to in one flush (grouped by identity). */
export interface FrameRef {
  /** The entity id, the coalescing key of the frame. */
  readonly id: string;
  readonly text: string;
}

/** One live entity as the processor holds it. */
export interface StoredEntity {
  readonly id: string;
  readonly kind: string;
  readonly lat: number;
  readonly lng: number;
  readonly data: JsonObject;
  /** Users allowed to see it; null: everyone. */
  readonly audience: ReadonlySet<string> | null;
  /** Epoch ms of this version. */
  readonly updatedAt: number;
  /** The entity as clients see it, serialised (a `publicEntity`). */
  readonly json: string;
  /** The `entity` upsert frame of this version. */
  readonly upsert: FrameRef;
}

/** What {@link EntityStore.apply} did. */
export interface Applied {
  /** The version before the change, if the entity was live. */
  readonly prev: StoredEntity | undefined;
  /** The version after the change; undefined when it was removed. */
  readonly next: StoredEntity | undefined;
  /** The `entity` remove frame for users who held `prev`, when there was a `prev`. */
  readonly remove: FrameRef | undefined;
}

/** Options of {@link EntityStore}. */
export interface EntityStoreOptions {
  /** Cell size of the point grid used for box queries, degrees. Default 1. */
  cellDeg?: number;
  /** Tombstones (ids removed, with their time) remembered to refuse older upserts arriving late. Default 100,000. */
  maxTombstones?: number;
}

/** The stored form of an upsert; its public JSON and upsert frame are serialised once, on first use. */
class Stored implements StoredEntity {
  readonly id: string;
  readonly kind: string;
  readonly lat: number;
  readonly lng: number;
  readonly data: JsonObject;
  readonly audience: ReadonlySet<string> | null;
  readonly updatedAt: number;
  private text: string | undefined;
  private frame: FrameRef | undefined;

  constructor(e: Extract<EntityEvent, { op: "upsert" }>) {
    this.id = e.id;
    this.kind = e.kind;
    this.lat = e.latitude;
    this.lng = e.longitude;
    this.data = e.data ?? {};
    this.audience = e.audience ? new Set(e.audience) : null;
    this.updatedAt = e.updated_at;
  }

  get json(): string {
    this.text ??= JSON.stringify({
      id: this.id,
      kind: this.kind,
      latitude: this.lat,
      longitude: this.lng,
      data: this.data,
      updated_at: new Date(this.updatedAt).toISOString(),
    });
    return this.text;
  }

  get upsert(): FrameRef {
    this.frame ??= { id: this.id, text: `{"type":"entity","op":"upsert","entity":${this.json}}` };
    return this.frame;
  }
}

/** Builds the stored form of an upsert. */
export function storedEntity(e: Extract<EntityEvent, { op: "upsert" }>): StoredEntity {
  return new Stored(e);
}

/**
 * The current set of live entities, last-writer-wins on `updated_at` per id (a change not newer than the held
 * version or tombstone is ignored, so replays and out-of-order arrivals change nothing), with a point grid for
 * box queries.
 */
export class EntityStore {
  private readonly byId = new Map<string, StoredEntity>();
  /** Live entities by grid cell, each cell keyed by id (a move within a cell replaces in place). */
  private readonly grid = new Map<number, Map<string, StoredEntity>>();
  private readonly tombstones = new Map<string, number>();
  private readonly cellDeg: number;
  private readonly cols: number;
  private readonly rows: number;
  private readonly maxTombstones: number;

  constructor(opts: EntityStoreOptions = {}) {
    this.cellDeg = opts.cellDeg ?? 1;
    this.cols = Math.ceil(360 / this.cellDeg);
    this.rows = Math.ceil(180 / this.cellDeg);
    this.maxTombstones = opts.maxTombstones ?? 100_000;
  }

  /** Number of live entities. */
  get size(): number {
    return this.byId.size;
  }

  get(id: string): StoredEntity | undefined {
    return this.byId.get(id);
  }

  private cell(lat: number, lng: number): number {
    const c = Math.min(this.cols - 1, Math.max(0, Math.floor((lng + 180) / this.cellDeg)));
    const r = Math.min(this.rows - 1, Math.max(0, Math.floor((lat + 90) / this.cellDeg)));
    return r * this.cols + c;
  }

  /** Applies a change; null when it is not newer than what is held (nothing changed). */
  apply(e: EntityEvent): Applied | null {
    const prev = this.byId.get(e.id);
    if (prev && prev.updatedAt >= e.updated_at) return null;
    const tomb = this.tombstones.get(e.id);
    if (tomb !== undefined && tomb >= e.updated_at) return null;
    const remove = prev ? lazyRemoveFrame(prev, e.updated_at) : undefined;
    if (e.op === "remove") {
      if (prev) this.unlink(prev);
      this.tombstones.delete(e.id);
      this.tombstones.set(e.id, e.updated_at);
      if (this.tombstones.size > this.maxTombstones) {
        const oldest = this.tombstones.keys().next().value;
        if (oldest !== undefined) this.tombstones.delete(oldest);
      }
      return { prev, next: undefined, remove };
    }
    if (tomb !== undefined) this.tombstones.delete(e.id);
    const next = storedEntity(e);
    const key = this.cell(next.lat, next.lng);
    if (prev && this.cell(prev.lat, prev.lng) !== key) this.unlink(prev);
    this.byId.set(next.id, next);
    const cell = this.grid.get(key);
    if (cell) cell.set(next.id, next);
    else this.grid.set(key, new Map([[next.id, next]]));
    return { prev, next, remove };
  }

  private unlink(e: StoredEntity): void {
    this.byId.delete(e.id);
    const key = this.cell(e.lat, e.lng);
    const cell = this.grid.get(key);
    cell?.delete(e.id);
    if (cell?.size === 0) this.grid.delete(key);
  }

  /** Calls `visit` for every live entity inside `box` (exact, edges included); stops when `visit` returns false. */
  inBox(box: Viewport, visit: (e: StoredEntity) => boolean | undefined): void {
    const c0 = Math.floor((box.west + 180) / this.cellDeg);
    const r0 = Math.max(0, Math.floor((box.south + 90) / this.cellDeg));
    const r1 = Math.min(this.rows - 1, Math.floor((box.north + 90) / this.cellDeg));
    const c1 = Math.floor((box.east + 180) / this.cellDeg);
    const cols: number[] = [];
    const clampCol = (c: number) => Math.min(this.cols - 1, Math.max(0, c));
    if (box.west <= box.east) for (let c = clampCol(c0); c <= clampCol(c1); c++) cols.push(c);
    else {
      for (let c = clampCol(c0); c < this.cols; c++) cols.push(c);
      for (let c = 0; c <= clampCol(c1); c++) cols.push(c);
    }
    if (cols.length * (r1 - r0 + 1) > this.grid.size) {
      for (const e of this.byId.values()) {
        if (viewportContains(box, e.lat, e.lng) && visit(e) === false) return;
      }
      return;
    }
    for (let r = r0; r <= r1; r++) {
      for (const c of cols) {
        const cell = this.grid.get(r * this.cols + c);
        if (!cell) continue;
        for (const e of cell.values()) if (viewportContains(box, e.lat, e.lng) && visit(e) === false) return;
      }
    }
  }

  /** Every live entity, in no particular order. */
  values(): IterableIterator<StoredEntity> {
    return this.byId.values();
  }
}

/** A remove frame whose text is built on first use (most changes reach nobody). */
function lazyRemoveFrame(prev: StoredEntity, at: number): FrameRef {
  let text: string | undefined;
  return {
    id: prev.id,
    get text() {
      text ??= removeFrame(prev, at).text;
      return text;
    },
  };
}

/** The `entity` remove frame telling holders of `prev` that it left (removed, moved away or became hidden). */
export function removeFrame(prev: StoredEntity, at: number): FrameRef {
  const entity = {
    id: prev.id,
    kind: prev.kind,
    latitude: prev.lat,
    longitude: prev.lng,
    updated_at: new Date(at).toISOString(),
  };
  return { id: prev.id, text: JSON.stringify({ type: "entity", op: "remove", entity }) };
}
