import { z } from "zod";
import { atTime, type Clock, schemaClock } from "./clock.ts";
import { epochMs, h3Cell, isoDateTime, latitude, longitude, uuid } from "./primitives.ts";
import { userId } from "./user.ts";

/** How far `recorded_at` may lie ahead of the receiver's clock: 5 minutes. */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000;

/** Most updates in one `POST /v1/locations/batch`: 500. */
export const MAX_LOCATION_BATCH = 500;

/** An ISO 8601 `recorded_at` no later than `clock() + MAX_FUTURE_SKEW_MS`. */
function recordedAt(clock: Clock) {
  return isoDateTime.refine((s) => Date.parse(s) <= clock() + MAX_FUTURE_SKEW_MS, {
    error: "must not be more than 5 minutes in the future",
  });
}

/**
 * The fields of one location update, shared by the HTTP bodies and the WebSocket `location` frame.
 * `accuracy` is in metres (0..10000), `altitude` in metres, `id` a client UUID that makes a retry idempotent.
 */
export function locationFields(clock: Clock = schemaClock) {
  return {
    latitude,
    longitude,
    accuracy: z.number().min(0).max(10_000).optional(),
    altitude: z.number().optional(),
    recorded_at: recordedAt(clock).optional(),
    id: uuid.optional(),
  };
}

/**
 * Builds the `POST /v1/locations` body schema with an injectable clock for the future-time check.
 * Strict: unknown fields (a `user_id` above all) are rejected.
 */
export function createLocationInput(clock: Clock = schemaClock) {
  return z.strictObject(locationFields(clock));
}

/** The `POST /v1/locations` body, checked against the wall clock. See {@link createLocationInput}. */
export const locationInput = createLocationInput();

/** A location update as typed by {@link locationInput}. `recorded_at` defaults to the receipt time. */
export type LocationInput = z.infer<typeof locationInput>;

/** Builds the `POST /v1/locations/batch` body schema: `{updates}` with 1..500 updates, strict. */
export function createLocationBatch(clock: Clock = schemaClock) {
  return z.strictObject({ updates: z.array(createLocationInput(clock)).min(1).max(MAX_LOCATION_BATCH) });
}

/** The `POST /v1/locations/batch` body, checked against the wall clock. See {@link createLocationBatch}. */
export const locationBatch = createLocationBatch();

/** A batch body as typed by {@link locationBatch}. */
export type LocationBatch = z.infer<typeof locationBatch>;

/** Validates a `POST /v1/locations` body as received at `now` (epoch ms; default the wall clock). Never throws. */
export function parseLocationInput(body: unknown, now?: number): z.ZodSafeParseResult<LocationInput> {
  return atTime(now, () => locationInput.safeParse(body));
}

/** Validates a `POST /v1/locations/batch` body as received at `now` (epoch ms; default the wall clock). Never throws. */
export function parseLocationBatch(body: unknown, now?: number): z.ZodSafeParseResult<LocationBatch> {
  return atTime(now, () => locationBatch.safeParse(body));
}

/**
 * One accepted fix on the `locations` stream. `id` is the message id (the client's UUID or one minted at
 * ingest), so consumers are idempotent on it; `cell` is its H3 resolution-10 cell (the partition key).
 * Unknown fields are stripped, so producers may add fields ahead of consumers.
 */
export const locationEvent = z.object({
  id: uuid,
  user_id: userId,
  latitude,
  longitude,
  accuracy: z.number().min(0).max(10_000).optional(),
  altitude: z.number().optional(),
  /** When the fix was taken (the client's `recorded_at`, else `received_at`). */
  recorded_at: epochMs,
  /** When the edge accepted it. */
  received_at: epochMs,
  cell: h3Cell,
});

/** A `locations` stream message as typed by {@link locationEvent}. */
export type LocationEvent = z.infer<typeof locationEvent>;

/** Most fixes one `locations` stream entry holds: 200. */
export const MAX_ENTRY_FIXES = 200;

/**
 * The payload (field `d`) of one `locations` stream entry: a single {@link locationEvent}, or a JSON array of 1 to
 * {@link MAX_ENTRY_FIXES} of them (how the api appends the fixes it gathers in one turn), parsed to the array of
 * its fixes in order. Each fix keeps its own id, so consumers stay idempotent per fix, not per entry. Internal to
 * the bus: the public contract knows only single fixes.
 */
export const locationEntry = z.union([
  locationEvent.transform((e) => [e]),
  z.array(locationEvent).min(1).max(MAX_ENTRY_FIXES),
]);

/**
 * The entry payload holding `payloads` (serialised {@link locationEvent}s, 1 to {@link MAX_ENTRY_FIXES}): the
 * payload itself for one, else the JSON array of them.
 */
export function locationEntryPayload(payloads: readonly string[]): string {
  return payloads.length === 1 ? (payloads[0] as string) : `[${payloads.join(",")}]`;
}
