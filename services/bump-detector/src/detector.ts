import { type BumpRules, bumpIdOf, type FixInput } from "@bump/geo";
import type { IndexedFix, NearQuery, ProximityIndex } from "./proximity-index.ts";

/** A fix as the detector takes it: the bump fields of a LocationEvent plus its H3 res-10 cell. */
export interface DetectorFix extends FixInput {
  cell: string;
}

/** A pair found within the radius and window; it becomes a bump unless the pair is cooling down. */
export interface Detection {
  /** Deterministic: the two fix ids (see `bumpIdOf`). */
  id: string;
  user_a: string;
  user_b: string;
  distance_m: number;
  /** Where it happened: the position of the fix that completed the pair (within the radius of the other). */
  latitude: number;
  longitude: number;
  /** The later of the two fix times. */
  at: number;
  /** The H3 res-10 cell of that fix. */
  cell: string;
}

/** Running counts of a {@link BumpDetector}. */
export interface DetectorStats {
  fixes: number;
  candidates: number;
  detections: number;
}

/** Width of the time buckets that remember which users to check when their fixes age out (ms). */
const SWEEP_EVERY_MS = 1_000;

/** The latest fix of a user: updated in place. */
interface Latest {
  id: string;
  at: number;
}

const NONE: readonly Detection[] = Object.freeze([]);

/**
 * The in-memory bump detection of one partition, implementing exactly the semantics of `bumpOracle` in
 * @bump/geo except the pair cooldown, which lives in Redis (see `recorder.ts`). Feed fixes in stream order.
 * Fixes age out through per-second time buckets of users, so expiry costs O(fixes), never a scan of all users.
 */
export class BumpDetector {
  private readonly latest = new Map<string, Latest>();
  /** Second (of fix time) -> users whose latest fix had a time in it when it was applied. */
  private readonly expiry = new Map<number, string[]>();
  private lastSecond = Number.NaN;
  private lastBucket: string[] = [];
  private readonly found: IndexedFix[] = [];
  private readonly distances: number[] = [];
  private readonly query: NearQuery;
  /** The fix handed to the index, reused (the index copies it). */
  private readonly put: { -readonly [K in keyof IndexedFix]: IndexedFix[K] };
  private clock = Number.NEGATIVE_INFINITY;
  private sweptAt = Number.NEGATIVE_INFINITY;
  readonly stats: DetectorStats = { fixes: 0, candidates: 0, detections: 0 };

  constructor(
    private readonly index: ProximityIndex,
    private readonly rules: BumpRules,
  ) {
    this.query = { lat: 0, lng: 0, cell: "", user: "", radiusM: rules.radiusM, from: 0, to: 0 };
    this.put = { user: "", id: "", lat: 0, lng: 0, at: 0, cell: "" };
  }

  /** Users with a live, accurate fix in the index. */
  get size(): number {
    return this.index.size;
  }

  /**
   * Applies one fix and returns the pairs it makes (empty when `detect` is false, as when rebuilding after a
   * restart). A fix already applied (same id) or older than its user's latest changes nothing.
   */
  observe(fix: DetectorFix, detect = true): readonly Detection[] {
    this.stats.fixes++;
    if (fix.received_at > this.clock) this.clock = fix.received_at;
    const floor = this.clock - this.rules.windowMs;
    if (this.clock - this.sweptAt >= SWEEP_EVERY_MS) this.sweep(floor);
    const at = Math.min(fix.recorded_at, fix.received_at);
    const user = fix.user_id;
    const prev = this.latest.get(user);
    if (prev !== undefined) {
      if (prev.id === fix.id || at < prev.at) return NONE;
      prev.id = fix.id;
      prev.at = at;
    } else this.latest.set(user, { id: fix.id, at });
    this.expireAt(user, at);
    if ((fix.accuracy ?? 0) > this.rules.maxAccuracyM || at < floor) {
      if (prev !== undefined) this.index.delete(user);
      return NONE;
    }
    let out = NONE as Detection[];
    if (detect) {
      const q = this.query;
      q.lat = fix.latitude;
      q.lng = fix.longitude;
      q.cell = fix.cell;
      q.user = user;
      // within the window of this fix, and live
      q.from = Math.max(floor, at - this.rules.windowMs);
      q.to = at + this.rules.windowMs;
      const found = this.found;
      const distances = this.distances;
      found.length = 0;
      distances.length = 0;
      this.stats.candidates += this.index.collectWithin(q, found, distances);
      if (found.length > 0) {
        out = [];
        for (let i = 0; i < found.length; i++)
          out.push(this.detection(fix, at, found[i] as IndexedFix, distances[i] as number));
        this.stats.detections += out.length;
        found.length = 0;
      }
    }
    const put = this.put;
    put.user = user;
    put.id = fix.id;
    put.lat = fix.latitude;
    put.lng = fix.longitude;
    put.at = at;
    put.cell = fix.cell;
    this.index.put(put);
    return out;
  }

  /** Remembers to check `user` once fixes of time `at` age out. */
  private expireAt(user: string, at: number): void {
    const second = Math.floor(at / SWEEP_EVERY_MS);
    if (second !== this.lastSecond) {
      let bucket = this.expiry.get(second);
      if (bucket === undefined) {
        bucket = [];
        this.expiry.set(second, bucket);
      }
      this.lastSecond = second;
      this.lastBucket = bucket;
    }
    this.lastBucket.push(user);
  }

  /** Drops users whose latest fix is before `floor` (checked per aged-out time bucket). */
  private sweep(floor: number): void {
    this.sweptAt = this.clock;
    const below = Math.floor(floor / SWEEP_EVERY_MS);
    for (const [second, users] of this.expiry) {
      if (second >= below) continue;
      this.expiry.delete(second);
      if (second === this.lastSecond) this.lastSecond = Number.NaN;
      for (const user of users) {
        const l = this.latest.get(user);
        if (l !== undefined && l.at < floor) {
          this.latest.delete(user);
          this.index.delete(user);
        }
      }
    }
  }

  private detection(fix: DetectorFix, at: number, other: IndexedFix, d: number): Detection {
    const first = fix.user_id < other.user;
    return {
      id: bumpIdOf(fix.id, other.id),
      user_a: first ? fix.user_id : other.user,
      user_b: first ? other.user : fix.user_id,
      distance_m: d,
      latitude: fix.latitude,
      longitude: fix.longitude,
      at: Math.max(at, other.at),
      cell: fix.cell,
    };
  }
}
