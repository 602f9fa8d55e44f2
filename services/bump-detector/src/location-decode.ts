import { type LocationEvent, locationEvent } from "@bump/contracts";
import { type ZodType, z } from "zod";

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$/;
const USER = /^[A-Za-z0-9_.:-]{1,64}$/;
const CELL = /^8a[0-9a-f]{9}[7f]fff$/;

const epochMs = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const within = (v: unknown, lo: number, hi: number): v is number => typeof v === "number" && v >= lo && v <= hi;

/**
 * The fast path of {@link locationEventDecoder}: the event with exactly the fields of `locationEvent` when the
 * value passes a hand check that accepts a subset of what the schema accepts (every value it returns, the schema
 * would return too), else undefined. Never throws.
 */
export function checkLocationEvent(value: unknown): LocationEvent | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const { id, user_id, latitude, longitude, accuracy, altitude, recorded_at, received_at, cell } = v;
  if (
    typeof id !== "string" ||
    typeof user_id !== "string" ||
    typeof cell !== "string" ||
    !within(latitude, -90, 90) ||
    !within(longitude, -180, 180) ||
    !epochMs(recorded_at) ||
    !epochMs(received_at) ||
    (accuracy !== undefined && !within(accuracy, 0, 10_000)) ||
    (altitude !== undefined && !Number.isFinite(altitude)) ||
    !UUID.test(id) ||
    !USER.test(user_id) ||
    !CELL.test(cell)
  )
    return undefined;
  const out: LocationEvent = { id, user_id, latitude, longitude, recorded_at, received_at, cell };
  if (accuracy !== undefined) out.accuracy = accuracy;
  if (altitude !== undefined) out.altitude = altitude as number;
  return out;
}

/**
 * Decodes a `locations` entry as `locationEvent` does, faster: well-formed events (all of them, from a validating
 * producer) pass {@link checkLocationEvent}; anything else goes through the full schema, so a malformed entry is
 * rejected with the schema's own field-level reasons (and dead-lettered by the consumer).
 */
export const locationEventDecoder: ZodType<LocationEvent> = z.unknown().transform((value, ctx) => {
  const fast = checkLocationEvent(value);
  if (fast) return fast;
  const r = locationEvent.safeParse(value);
  if (r.success) return r.data;
  for (const issue of r.error.issues) ctx.addIssue({ code: "custom", message: issue.message, path: issue.path });
  return z.NEVER;
});
