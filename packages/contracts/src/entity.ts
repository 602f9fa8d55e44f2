import { z } from "zod";
import {
  epochMs,
  isoDateTime,
  type JsonObject,
  jsonByteLength,
  jsonObject,
  latitude,
  longitude,
  namePattern,
} from "./primitives.ts";
import { userId } from "./user.ts";

/** Largest `data` of an entity, serialised as JSON in UTF-8: 16 KiB. */
export const MAX_ENTITY_DATA_BYTES = 16 * 1024;

/** Most user ids in an entity's `audience`: 1000. */
export const MAX_AUDIENCE = 1000;

/** An entity id: 1-128 chars of `[A-Za-z0-9_.:-]` (the `:id` of `PUT /v1/entities/:id`). */
export const entityId = z.string().min(1).max(128).regex(namePattern, { error: "expected only [A-Za-z0-9_.:-]" });

/** An entity kind such as `"vehicle"`: 1-64 chars. */
export const entityKind = z.string().min(1).max(64);

/** An entity's free-form `data`: a JSON object of at most 16 KiB serialised. */
export const entityData = jsonObject.refine((d) => jsonByteLength(d) <= MAX_ENTITY_DATA_BYTES, {
  error: `must be at most ${MAX_ENTITY_DATA_BYTES} bytes as JSON`,
});

/** User ids allowed to see an entity (at most 1000); absent means everyone. */
export const audience = z.array(userId).max(MAX_AUDIENCE);

/** The body of `PUT /v1/entities/:id` (publishers only). Strict: unknown fields are rejected. */
export const entityPut = z.strictObject({
  kind: entityKind,
  latitude,
  longitude,
  data: entityData.optional(),
  audience: audience.optional(),
});

/** An entity write as typed by {@link entityPut}. */
export type EntityPut = z.infer<typeof entityPut>;

/**
 * An entity change on the `entities` stream, last-writer-wins on `updated_at` (epoch ms) per `id`.
 * `upsert` carries the full new state; `remove` may carry the last known position and kind, so viewports that
 * held the entity can be told. Unknown fields are stripped.
 */
export const entityEvent = z.discriminatedUnion("op", [
  z.object({
    op: z.literal("upsert"),
    id: entityId,
    kind: entityKind,
    latitude,
    longitude,
    data: entityData.optional(),
    audience: audience.optional(),
    updated_at: epochMs,
  }),
  z.object({
    op: z.literal("remove"),
    id: entityId,
    kind: entityKind.optional(),
    latitude: latitude.optional(),
    longitude: longitude.optional(),
    data: entityData.optional(),
    audience: audience.optional(),
    updated_at: epochMs,
  }),
]);

/** An `entities` stream message as typed by {@link entityEvent}. */
export type EntityEvent = z.infer<typeof entityEvent>;

/** An entity as clients see it (in `entity` and `entities` frames); `data` is `{}` when none was given. */
export const publicEntity = z.strictObject({
  id: entityId,
  kind: entityKind,
  latitude,
  longitude,
  data: jsonObject,
  updated_at: isoDateTime,
});

/** A public entity as typed by {@link publicEntity}. */
export type PublicEntity = z.infer<typeof publicEntity>;

/** A scalar a filter compares `data` values with. */
export const filterScalar = z.union([z.string().max(256), z.number(), z.boolean()]);

/** A filter scalar as typed by {@link filterScalar}. */
export type FilterScalar = z.infer<typeof filterScalar>;

/** A top-level key of an entity's `data`: 1-64 chars (dots are part of the key, not a path). */
const filterField = z.string().min(1).max(64);

/** A range bound: numbers compare numerically, strings (e.g. ISO dates) lexicographically. */
const bound = z.union([z.number(), z.string().max(256)]);

/**
 * One condition on `data[field]`: `{field, eq}` (strict equality), `{field, in}` (one of 1..100 values) or
 * `{field, gte?, lte?}` (inclusive range, at least one bound, both of one type). A missing field never matches.
 */
export const filterCondition = z.union([
  z.strictObject({ field: filterField, eq: filterScalar }),
  z.strictObject({ field: filterField, in: z.array(filterScalar).min(1).max(100) }),
  z
    .strictObject({ field: filterField, gte: bound.optional(), lte: bound.optional() })
    .refine((c) => c.gte !== undefined || c.lte !== undefined, { error: "a range needs gte or lte" })
    .refine((c) => c.gte === undefined || c.lte === undefined || typeof c.gte === typeof c.lte, {
      error: "gte and lte must have the same type",
    }),
]);

/** A filter condition as typed by {@link filterCondition}. */
export type FilterCondition = z.infer<typeof filterCondition>;

/**
 * Which entities a session follows. `kinds`: only these kinds (absent: any; `[]`: none); `where`: every
 * condition holds (absent or `[]`: no condition). `{}` clears the filter. At most 50 kinds and 16 conditions.
 */
export const entityFilter = z.strictObject({
  kinds: z.array(entityKind).max(50).optional(),
  where: z.array(filterCondition).max(16).optional(),
});

/** An entity filter as typed by {@link entityFilter}. */
export type EntityFilter = z.infer<typeof entityFilter>;

function holds(c: FilterCondition, data: JsonObject): boolean {
  if (!Object.hasOwn(data, c.field)) return false;
  const v = data[c.field];
  if ("eq" in c) return v === c.eq;
  if ("in" in c) return c.in.some((x) => x === v);
  if (typeof v !== "number" && typeof v !== "string") return false;
  if (c.gte !== undefined && (typeof c.gte !== typeof v || v < c.gte)) return false;
  if (c.lte !== undefined && (typeof c.lte !== typeof v || v > c.lte)) return false;
  return true;
}

/** Whether an entity of `kind` with `data` passes `filter`, by the rules of {@link entityFilter}. Pure. */
export function matchesFilter(filter: EntityFilter, kind: string, data: JsonObject = {}): boolean {
  if (filter.kinds && !filter.kinds.includes(kind)) return false;
  return (filter.where ?? []).every((c) => holds(c, data));
}
