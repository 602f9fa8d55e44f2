import type { FixInput } from "./bump-rules.ts";
import { fixCell } from "./cell.ts";
import { EARTH_RADIUS_M } from "./haversine.ts";

const M_PER_DEG = (EARTH_RADIUS_M * Math.PI) / 180;

/** A fix of a synthetic trace: a LocationEvent without its stream envelope. */
export interface TraceFix extends FixInput {
  cell: string;
}

/** Options of {@link randomTrace}. */
export interface TraceOptions {
  users: number;
  fixes: number;
  /** Where the users start, spread uniformly over a square of `spreadM` metres around it. */
  center: { latitude: number; longitude: number };
  spreadM: number;
  /** Largest step of a user between two of their fixes, metres. Default 20. */
  stepM?: number;
  /** Time of the first fix (epoch ms) and the length of the trace. */
  startMs: number;
  durationMs: number;
  /** Share of fixes with an accuracy worse than 100 m. Default 0.05. */
  inaccurateShare?: number;
  /** Share of fixes that arrive late (recorded up to 40 s before receipt). Default 0.05. */
  lateShare?: number;
  /** PRNG seed; the same options give the same trace. Default 1. */
  seed?: number;
}

/** A small, fast, seeded PRNG (mulberry32) returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The deterministic UUID (version 4 layout) of fix `n` of the trace seeded with `seed`. */
export function traceFixId(seed: number, n: number): string {
  const s = (seed >>> 0).toString(16).padStart(8, "0");
  return `${s}-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
}

/** Moves a point by `dx` metres east and `dy` metres north, wrapping over the poles and the antimeridian. */
export function offsetPoint(latitude: number, longitude: number, dx: number, dy: number): [number, number] {
  let lat = latitude + dy / M_PER_DEG;
  const cos = Math.max(Math.cos((latitude * Math.PI) / 180), 1e-9);
  let lng = longitude + dx / (M_PER_DEG * cos);
  if (lat > 90) {
    lat = 180 - lat;
    lng += 180;
  } else if (lat < -90) {
    lat = -180 - lat;
    lng += 180;
  }
  lng = ((((lng + 180) % 360) + 360) % 360) - 180;
  return [Math.max(-90, Math.min(90, lat)), lng];
}

/**
 * A random trace in stream order: users random-walking around `center`, fixes with ids from {@link traceFixId}, some
 * inaccurate, some late, with `received_at` ascending. Deterministic for given options.
 */
export function randomTrace(opts: TraceOptions): TraceFix[] {
  const rnd = seededRandom(opts.seed ?? 1);
  const step = opts.stepM ?? 20;
  const pos: [number, number][] = [];
  for (let u = 0; u < opts.users; u++) {
    pos.push(
      offsetPoint(
        opts.center.latitude,
        opts.center.longitude,
        (rnd() - 0.5) * opts.spreadM,
        (rnd() - 0.5) * opts.spreadM,
      ),
    );
  }
  const out: TraceFix[] = [];
  for (let n = 0; n < opts.fixes; n++) {
    const u = Math.floor(rnd() * opts.users);
    const [lat0, lng0] = pos[u] as [number, number];
    const [latitude, longitude] = offsetPoint(lat0, lng0, (rnd() - 0.5) * 2 * step, (rnd() - 0.5) * 2 * step);
    pos[u] = [latitude, longitude];
    const received = opts.startMs + Math.floor((n / opts.fixes) * opts.durationMs);
    const late = rnd() < (opts.lateShare ?? 0.05);
    const inaccurate = rnd() < (opts.inaccurateShare ?? 0.05);
    out.push({
      id: traceFixId(opts.seed ?? 1, n),
      user_id: `u${u}`,
      latitude,
      longitude,
      accuracy: inaccurate ? 100 + 1 + rnd() * 500 : rnd() * 50,
      recorded_at: received - (late ? Math.floor(rnd() * 40_000) : Math.floor(rnd() * 1_500)),
      received_at: received,
      cell: fixCell(latitude, longitude),
    });
  }
  return out;
}
