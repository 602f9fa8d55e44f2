import {
  isoDateTime,
  type LocationBatch,
  type LocationInput,
  MAX_FUTURE_SKEW_MS,
  MAX_LOCATION_BATCH,
  uuid,
} from "@bump/contracts";

/** The exact patterns the contract's zod schemas use, taken from the schemas themselves so they cannot drift. */
function patternOf(schema: { _zod: { def: { pattern?: RegExp } } }, what: string): RegExp {
  const pattern = schema._zod.def.pattern;
  if (!pattern) throw new Error(`the contract's ${what} schema has no pattern`);
  return pattern;
}
const ISO_DATE_TIME = patternOf(isoDateTime, "date-time");
const UUID = patternOf(uuid, "uuid");
const KNOWN = new Set(["latitude", "longitude", "accuracy", "altitude", "recorded_at", "id"]);

function isNumberIn(v: unknown, min: number, max: number): boolean {
  return typeof v === "number" && v >= min && v <= max;
}

/**
 * True exactly when the contract's `locationInput` schema (as received at `now`, epoch ms) accepts `body`; a
 * property test holds the two equal. Several times cheaper than the zod parse, so the hot path runs this and
 * calls zod only to describe a rejection. On acceptance `body` is the parsed value itself (the schema neither
 * transforms nor strips anything a strict object accepts).
 */
export function isLocationInput(body: unknown, now: number): body is LocationInput {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return false;
  const b = body as Record<string, unknown>;
  for (const k of Object.keys(b)) if (!KNOWN.has(k)) return false;
  if (!isNumberIn(b.latitude, -90, 90) || !isNumberIn(b.longitude, -180, 180)) return false;
  if (b.accuracy !== undefined && !isNumberIn(b.accuracy, 0, 10_000)) return false;
  if (b.altitude !== undefined && !Number.isFinite(b.altitude)) return false;
  const t = b.recorded_at;
  if (t !== undefined) {
    if (typeof t !== "string" || !ISO_DATE_TIME.test(t)) return false;
    if (!(Date.parse(t) <= now + MAX_FUTURE_SKEW_MS)) return false;
  }
  return b.id === undefined || (typeof b.id === "string" && UUID.test(b.id));
}

/**
 * True exactly when the contract's `locationBatch` schema (as received at `now`) accepts `body`: a strict
 * `{updates}` with 1..500 updates each passing {@link isLocationInput}.
 */
export function isLocationBatch(body: unknown, now: number): body is LocationBatch {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return false;
  const updates = (body as { updates?: unknown }).updates;
  if (!Array.isArray(updates) || updates.length < 1 || updates.length > MAX_LOCATION_BATCH) return false;
  if (Object.keys(body).length !== 1 || !Object.hasOwn(body, "updates")) return false;
  for (let i = 0; i < updates.length; i++) if (!isLocationInput(updates[i], now)) return false;
  return true;
}
