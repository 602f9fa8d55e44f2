import type { ZodType } from "zod";

/** One entry as read from Redis: `[id, [field, value, ...]]`. */
export type RawEntry = [string, string[]];

/** Field value of `name` in a flat field list. */
export function field(fields: string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** Flattens zod issues to `path message` pairs. */
export function issuesOf(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }) {
  return error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message }));
}

/** Parses and validates a payload; `undefined` with a reason when it is not valid JSON or fails the schema. */
export function decode<T>(
  schema: ZodType<T> | undefined,
  payload: string,
): { ok: true; value: T } | { ok: false; reason: string } {
  let json: unknown;
  try {
    json = JSON.parse(payload);
  } catch {
    return { ok: false, reason: "schema: payload is not JSON" };
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
