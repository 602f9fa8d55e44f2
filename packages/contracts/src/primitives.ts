import { z } from "zod";

/** Latitude in degrees, a finite number in [-90, 90]. Strings, NaN and Infinity are rejected. */
export const latitude = z.number().min(-90).max(90);

/** Longitude in degrees, a finite number in [-180, 180]. Strings, NaN and Infinity are rejected. */
export const longitude = z.number().min(-180).max(180);

/** Milliseconds since the Unix epoch: a non-negative safe integer. Used on the bus. */
export const epochMs = z.int().nonnegative();

/**
 * An ISO 8601 date-time with seconds and a zone (`Z` or `+hh:mm`), e.g. `2025-01-31T12:00:00.000Z`.
 * Impossible dates (Feb 30) are rejected. Used at the edge and in public records.
 */
export const isoDateTime = z.iso.datetime({ offset: true });

/** An RFC 9562 UUID (any version, lower or upper case). */
export const uuid = z.uuid();

/** An H3 cell index at resolution 10: 15 lower-case hex chars as `h3-js` prints them, e.g. `8a1f1d48945ffff`. */
export const h3Cell = z.string().regex(/^8a[0-9a-f]{9}[7f]fff$/, { error: "expected an H3 resolution-10 cell" });

/** Characters allowed in user ids, entity ids and other opaque names: `[A-Za-z0-9_.:-]`. */
export const namePattern = /^[A-Za-z0-9_.:-]+$/;

/** A JSON object (not an array, not null) with JSON values. */
export const jsonObject = z.record(z.string(), z.json());

/** A JSON object as typed by {@link jsonObject}. */
export type JsonObject = z.infer<typeof jsonObject>;

/** Any JSON value (`null`, boolean, finite number, string, array, object). */
export type JsonValue = z.infer<ReturnType<typeof z.json>>;

const utf8 = new TextEncoder();

/** Size in bytes of `value` serialised with `JSON.stringify` as UTF-8. */
export function jsonByteLength(value: unknown): number {
  return utf8.encode(JSON.stringify(value) ?? "").length;
}
