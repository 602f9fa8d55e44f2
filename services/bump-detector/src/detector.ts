import { type BumpRules, bumpIdOf, type FixInput, fixTime, haversineM } from "@bump/geo";
import type { IndexedFix, ProximityIndex } from "./proximity-index.ts";

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

/** Sweep stale fixes out of the index each time the clock moves on by this much (ms). */
const SWEEP_EVERY_MS = 1_000;

/**
 * The in-memory bump detection of one partition, implementing exactly the semantics of `bumpOracle` in
 * @bump/geo except the pair cooldown, which lives in Redis (see `recorder.ts`). Feed fixes in stream order.
 */
export class BumpDetector {
  private readonly latest = new Map<string, { id: string; at: number }>();
  private clock = Number.NEGATIVE_INFINITY;
  private sweptAt = Number.NEGATIVE_INFINITY;
  readonly stats: DetectorStats = { fixes: 0, candidates: 0, detections: 0 };

  constructor(
    private readonly index: ProximityIndex,
    private readonly rules: BumpRules,
  ) {}

  /** Users with a live, accurate fix in the index. */
  get size(): number {
    return this.index.size;
  }

  /**
   * Applies one fix and returns the pairs it makes (empty when `detect` is false, as when rebuilding after a
   * restart). A fix already applied (same id) or older than its user's latest changes nothing.
   */
  observe(fix: DetectorFix, detect = true): Detection[] {
    this.stats.fixes++;
    if (fix.received_at > this.clock) this.clock = fix.received_at;
    const floor = this.clock - this.rules.windowMs;
    if (this.clock - this.sweptAt >= SWEEP_EVERY_MS) this.sweep(floor);
    const at = fixTime(fix);
    const user = fix.user_id;
    const prev = this.latest.get(user);
    if (prev && (prev.id === fix.id || at < prev.at)) return [];
    this.latest.set(user, { id: fix.id, at });
    if ((fix.accuracy ?? 0) > this.rules.maxAccuracyM || at < floor) {
      this.index.delete(user);
      return [];
    }
    const out: Detection[] = [];
    if (detect) {
      const { radiusM, windowMs } = this.rules;
      const lat = fix.latitude;
      const lng = fix.longitude;
      let checked = 0;
      this.index.forEachNear(lat, lng, fix.cell, (other: IndexedFix) => {
        checked++;
        if (other.user === user || other.at < floor || Math.abs(other.at - at) > windowMs) return;
        const d = haversineM(lat, lng, other.lat, other.lng);
        if (d > radiusM) return;
        out.push(this.detection(fix, at, other, d));
      });
      this.stats.candidates += checked;
      this.stats.detections += out.length;
    }
    this.index.put({ user, id: fix.id, lat: fix.latitude, lng: fix.longitude, at, cell: fix.cell });
    return out;
  }

  /** Drops fixes that can no longer bump (time before `floor`). */
  private sweep(floor: number): void {
    this.sweptAt = this.clock;
    this.index.evictBefore(floor);
    for (const [user, l] of this.latest) if (l.at < floor) this.latest.delete(user);
  }

  private detection(fix: DetectorFix, at: number, other: IndexedFix, d: number): Detection {
    const [a, b] = fix.user_id < other.user ? [fix.user_id, other.user] : [other.user, fix.user_id];
    return {
      id: bumpIdOf(fix.id, other.id),
      user_a: a,
      user_b: b,
      distance_m: d,
      latitude: fix.latitude,
      longitude: fix.longitude,
      at: Math.max(at, other.at),
      cell: fix.cell,
    };
  }
}
