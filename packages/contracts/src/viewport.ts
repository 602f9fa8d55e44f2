import { z } from "zod";
import { entityFilter } from "./entity.ts";
import { epochMs, latitude, longitude } from "./primitives.ts";
import { userId } from "./user.ts";

/**
 * A map viewport in degrees. `south <= north`; `west > east` means the box crosses the antimeridian
 * (west..180 and -180..east); `west = -180, east = 180` is the whole width. Strict: unknown fields are rejected.
 */
export const viewport = z
  .strictObject({ north: latitude, south: latitude, east: longitude, west: longitude })
  .refine((v) => v.north >= v.south, { error: "north must be >= south", path: ["north"] });

/** A viewport as typed by {@link viewport}. */
export type Viewport = z.infer<typeof viewport>;

/** Whether the point lies inside `v`, edges included, honouring the antimeridian rule of {@link viewport}. */
export function viewportContains(v: Viewport, lat: number, lng: number): boolean {
  if (lat < v.south || lat > v.north) return false;
  return v.west <= v.east ? lng >= v.west && lng <= v.east : lng >= v.west || lng <= v.east;
}

/** A gateway session id: 1-128 chars. */
export const sessionId = z.string().min(1).max(128);

/**
 * A session's viewport on the `viewports` stream, last-writer-wins on `at` (epoch ms) per session.
 * `viewport: null` means the session cleared it or is gone; `filter` absent means no filter. Unknown fields are
 * stripped.
 */
export const viewportEvent = z.object({
  user_id: userId,
  session_id: sessionId,
  viewport: viewport.nullable(),
  filter: entityFilter.optional(),
  at: epochMs,
});

/** A `viewports` stream message as typed by {@link viewportEvent}. */
export type ViewportEvent = z.infer<typeof viewportEvent>;
