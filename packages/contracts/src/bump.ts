import { z } from "zod";
import { epochMs, h3Cell, isoDateTime, latitude, longitude } from "./primitives.ts";
import { userId } from "./user.ts";

/** A bump id: 1-128 chars, minted by the bump-detector; consumers are idempotent on it. */
export const bumpId = z.string().min(1).max(128);

/** Distance between the two fixes of a bump, metres: finite and non-negative. */
const distanceM = z.number().nonnegative();

/**
 * A detected bump on the `bumps` stream: two distinct users within the distance threshold at about the same time.
 * `latitude`/`longitude` is the meeting point, `at` when it happened (epoch ms), `cell` its H3 res-10 cell.
 * Unknown fields are stripped.
 */
export const bumpEvent = z
  .object({
    id: bumpId,
    user_a: userId,
    user_b: userId,
    distance_m: distanceM,
    latitude,
    longitude,
    at: epochMs,
    cell: h3Cell,
  })
  .refine((b) => b.user_a !== b.user_b, { error: "a bump needs two distinct users", path: ["user_b"] });

/** A `bumps` stream message as typed by {@link bumpEvent}. */
export type BumpEvent = z.infer<typeof bumpEvent>;

/** A bump as one of its two users sees it (HTTP and the `bump` frame); `at` is ISO 8601. */
export const bumpRecord = z.strictObject({
  id: bumpId,
  user_id: userId,
  other_user_id: userId,
  distance_m: distanceM,
  latitude,
  longitude,
  at: isoDateTime,
});

/** A public bump as typed by {@link bumpRecord}. */
export type BumpRecord = z.infer<typeof bumpRecord>;

/**
 * The query of `GET /v1/bumps`: `limit` 1..200 (default 50, from its query string) and `before`, an ISO time
 * that pages back (exclusive). Unknown parameters are ignored.
 */
export const bumpsQuery = z.object({
  limit: z.coerce.number<string | number>().int().min(1).max(200).default(50),
  before: isoDateTime.optional(),
});

/** A parsed `GET /v1/bumps` query as typed by {@link bumpsQuery}. */
export type BumpsQuery = z.infer<typeof bumpsQuery>;

/**
 * The `GET /v1/bumps` answer, newest first. `next_before` is the `before` of the next page, `null` on the last.
 */
export const bumpsPage = z.strictObject({
  bumps: z.array(bumpRecord),
  next_before: isoDateTime.nullable(),
});

/** A page of bumps as typed by {@link bumpsPage}. */
export type BumpsPage = z.infer<typeof bumpsPage>;
