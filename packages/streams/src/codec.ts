import type { ZodType } from "zod";

/** One entry as read from Redis: `[id, [field, value, ...]]`. */
export type RawEntry = [string, string[]];

/** One entry as read from Redis as strings or, from a buffer read, as bytes. */
export type RawEntryBytes = [Buffer | string, (Buffer | string)[]];

/** Text of a reply element (an ASCII stream id, key or field name) read as a string or as bytes. */
export function ascii(value: Buffer | string): string {
  return typeof value === "string" ? value : (value as Latin1).latin1Slice(0, value.length);
}

/** Bun's (and Node's) native slice decoder, several times faster than `toString("latin1")` on short values. */
type Latin1 = Buffer & { latin1Slice(start: number, end: number): string };

/** Field value of `name` (ASCII) in a flat field list read as strings or bytes. */
export function fieldOf(fields: (Buffer | string)[], name: string): Buffer | string | undefined {
  for (let i = 0; i < fields.length; i += 2) {
    const f = fields[i] as Buffer | string;
    if (typeof f === "string" ? f === name : sameAscii(f, name)) return fields[i + 1];
  }
  return undefined;
}

function sameAscii(bytes: Buffer, name: string): boolean {
  if (bytes.length !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (bytes[i] !== name.charCodeAt(i)) return false;
  return true;
}

/** Field value of `name` in a flat field list. */
export function field(fields: string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** Flattens zod issues to `path message` pairs. */
export function issuesOf(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }) {
  return error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message }));
}

/**
 * Parses and validates a payload; `undefined` with a reason when it is not valid JSON or fails the schema. `accept`,
 * when given, is tried first: a value it returns is taken as is (it must accept only what the schema accepts), and
 * undefined falls back to the schema.
 */
export function decode<T>(
  schema: ZodType<T> | undefined,
  payload: string,
  accept?: (json: unknown) => T | undefined,
): { ok: true; value: T } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch {
    return { ok: false, reason: "schema: payload is not JSON" };
  }
  if (accept) {
    const value = accept(json);
    if (value !== undefined) return { ok: true, value };
  }
  if (!schema) return { ok: true, value: json as T };
  const r = schema.safeParse(json);
  if (r.success) return { ok: true, value: r.data };
  return {
    ok: false,
    reason: `schema: ${issuesOf(r.error)
      .map((i) => `${i.path || "(root)"} ${i.message}`)
      .join("; ")}`,
  };
}
