import { type EntityEvent, MAX_AUDIENCE, MAX_ENTITY_DATA_BYTES, namePattern } from "@bump/contracts";

const isName = (v: unknown, max: number): v is string =>
  typeof v === "string" && v.length >= 1 && v.length <= max && namePattern.test(v);
const isKind = (v: unknown): v is string => typeof v === "string" && v.length >= 1 && v.length <= 64;
const isCoord = (v: unknown, limit: number): v is number => typeof v === "number" && v >= -limit && v <= limit;

/**
 * A hand check of a parsed `entities` stream payload, tried before the `entityEvent` schema: returns what the schema
 * would (known fields only) for the common shapes and undefined for anything else (the schema then decides). `data`
 * is taken only when it is a plain object whose JSON is short enough to be under the byte limit whatever its
 * characters; larger ones go to the schema, which measures them. Saves the schema's cost on every change read.
 */
export function checkEntityEvent(value: unknown): EntityEvent | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  const { op, id, kind, latitude, longitude, data, audience, updated_at } = v;
  if (op !== "upsert" && op !== "remove") return undefined;
  if (!isName(id, 128)) return undefined;
  if (typeof updated_at !== "number" || !Number.isSafeInteger(updated_at) || updated_at < 0) return undefined;
  if (op === "upsert") {
    if (!isKind(kind) || !isCoord(latitude, 90) || !isCoord(longitude, 180)) return undefined;
  } else {
    if (kind !== undefined && !isKind(kind)) return undefined;
    if (latitude !== undefined && !isCoord(latitude, 90)) return undefined;
    if (longitude !== undefined && !isCoord(longitude, 180)) return undefined;
  }
  if (data !== undefined) {
    if (typeof data !== "object" || data === null || Array.isArray(data)) return undefined;
    if (Object.getPrototypeOf(data) !== Object.prototype) return undefined;
    const text = JSON.stringify(data);
    // At most 3 UTF-8 bytes per UTF-16 unit: short enough text is under the limit without encoding it. A
    // `__proto__` key anywhere is left to the schema, which copies objects key by key.
    if (text.length * 3 > MAX_ENTITY_DATA_BYTES || text.includes('"__proto__"')) return undefined;
  }
  if (audience !== undefined) {
    if (!Array.isArray(audience) || audience.length > MAX_AUDIENCE) return undefined;
    for (const u of audience) if (!isName(u, 64)) return undefined;
  }
  const out: Record<string, unknown> = { op, id };
  if (kind !== undefined) out.kind = kind;
  if (latitude !== undefined) out.latitude = latitude;
  if (longitude !== undefined) out.longitude = longitude;
  if (data !== undefined) out.data = data;
  if (audience !== undefined) out.audience = audience;
  out.updated_at = updated_at;
  return out as EntityEvent;
}
