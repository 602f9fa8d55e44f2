/** The parameters that define a bump; the detector and the reference oracle read the same ones. */
export interface BumpRules {
  /** Largest haversine distance between the two fixes, metres. Default 30. */
  radiusM: number;
  /** Largest difference between the two fixes' times, ms; also how long a fix stays live. Default 30,000. */
  windowMs: number;
  /** A fix with a worse (larger) accuracy, metres, never bumps. Default 100. */
  maxAccuracyM: number;
  /** A pair bumps at most once per this many ms. Default 3,600,000. */
  cooldownMs: number;
}

/** The product's default {@link BumpRules}. */
export const defaultBumpRules: BumpRules = {
  radiusM: 30,
  windowMs: 30_000,
  maxAccuracyM: 100,
  cooldownMs: 3_600_000,
};

/** The fields of a fix that bump detection reads (a subset of the `locations` stream's LocationEvent). */
export interface FixInput {
  id: string;
  user_id: string;
  latitude: number;
  longitude: number;
  accuracy?: number | undefined;
  recorded_at: number;
  received_at: number;
}

/**
 * The time a fix counts as taken: its `recorded_at`, but never later than `received_at` (a phone clock ahead of
 * the server cannot keep a fix live longer).
 */
export function fixTime(fix: FixInput): number {
  return Math.min(fix.recorded_at, fix.received_at);
}

/** The two users of a pair in canonical order (`a < b`), joined as the pair's key. */
export function pairKey(a: string, b: string): string {
  return a < b ? `${a} ${b}` : `${b} ${a}`;
}

/**
 * The id of a bump: the pair and the fix ids that made it, so the same detection always yields the same id
 * (a redelivered fix cannot mint a second one).
 */
export function bumpIdOf(fixA: string, fixB: string): string {
  return fixA < fixB ? `${fixA}.${fixB}` : `${fixB}.${fixA}`;
}
