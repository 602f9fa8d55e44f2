import { type LocationEvent, locationEntry, locationEvent, MAX_ENTRY_FIXES } from "@bump/contracts";
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
  return checkFields(
    v.id,
    v.user_id,
    v.latitude,
    v.longitude,
    v.accuracy,
    v.altitude,
    v.recorded_at,
    v.received_at,
    v.cell,
  );
}

function checkFields(
  id: unknown,
  user_id: unknown,
  latitude: unknown,
  longitude: unknown,
  accuracy: unknown,
  altitude: unknown,
  recorded_at: unknown,
  received_at: unknown,
  cell: unknown,
): LocationEvent | undefined {
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

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** 10^k for k = 0..22: every one exact in a double. */
const POW10 = Array.from({ length: 23 }, (_, k) => 10 ** k);

/**
 * {@link checkLocationEvent} straight from the bytes of a `locations` payload, without building its text: the
 * event when the bytes are a compact JSON object (no whitespace) of distinct keys whose strings are plain ASCII (no
 * escapes) and whose values pass the hand check, else undefined (the caller falls back to `JSON.parse` and the
 * schema). What it returns equals what `checkLocationEvent(JSON.parse(text))` returns; numbers are parsed exactly.
 */
export function decodeLocationBytes(b: Buffer): LocationEvent | undefined {
  const n = b.length;
  if (n < 2 || b[0] !== 0x7b || b[n - 1] !== 0x7d) return undefined;
  let id: unknown;
  let user: unknown;
  let lat: unknown;
  let lng: unknown;
  let accuracy: unknown;
  let altitude: unknown;
  let recorded: unknown;
  let received: unknown;
  let cell: unknown;
  let seen = 0;
  let i = 1;
  for (;;) {
    // key
    if (b[i] !== QUOTE) return undefined;
    const keyStart = ++i;
    while (i < n && b[i] !== QUOTE) {
      const c = b[i] as number;
      if (c === BACKSLASH || c < 0x20 || c > 0x7e) return undefined;
      i++;
    }
    const key = keyOf(b, keyStart, i);
    if (key === 0 || seen & key || b[i + 1] !== 0x3a) return undefined;
    seen |= key;
    i += 2;
    // value
    let value: string | number;
    if (b[i] === QUOTE) {
      const start = ++i;
      while (i < n && b[i] !== QUOTE) {
        const c = b[i] as number;
        if (c === BACKSLASH || c < 0x20 || c > 0x7e) return undefined;
        i++;
      }
      if (i >= n) return undefined;
      value = latin1(b, start, i);
      i++;
    } else {
      const end = numberEnd(b, i);
      if (end < 0) return undefined;
      value = numberAt(b, i, end);
      i = end;
    }
    switch (key) {
      case K_ID:
        id = value;
        break;
      case K_USER:
        user = value;
        break;
      case K_LAT:
        lat = value;
        break;
      case K_LNG:
        lng = value;
        break;
      case K_ACCURACY:
        accuracy = value;
        break;
      case K_ALTITUDE:
        altitude = value;
        break;
      case K_RECORDED:
        recorded = value;
        break;
      case K_RECEIVED:
        received = value;
        break;
      case K_CELL:
        cell = value;
    }
    if (b[i] === 0x2c) {
      i++;
      continue;
    }
    if (i === n - 1) break;
    return undefined;
  }
  return checkFields(id, user, lat, lng, accuracy, altitude, recorded, received, cell);
}

/**
 * The fixes of a `locations` entry payload straight from its bytes: a single event as {@link decodeLocationBytes}
 * reads it; an array (a multi-fix entry) parsed by `JSON.parse` of its Latin-1 text (several times faster per fix
 * than the byte reader on long payloads) and checked by {@link checkLocationEntry}. Undefined when that declines
 * (the caller falls back to the UTF-8 text and the schema, which decide the entry as a whole). Latin-1 text gives
 * the same result as UTF-8 here: every field the check takes must be ASCII, and other bytes can only sit in strings
 * it ignores.
 */
export function decodeLocationEntryBytes(b: Buffer): LocationEvent[] | undefined {
  if (b[0] === 0x7b) {
    const event = decodeLocationBytes(b);
    return event && [event];
  }
  if (b[0] !== 0x5b) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(latin1(b, 0, b.length));
  } catch {
    return undefined;
  }
  return Array.isArray(json) ? checkLocationEntry(json) : undefined;
}

const K_ID = 1;
const K_USER = 2;
const K_LAT = 4;
const K_LNG = 8;
const K_ACCURACY = 16;
const K_ALTITUDE = 32;
const K_RECORDED = 64;
const K_RECEIVED = 128;
const K_CELL = 256;
const NAMES: [string, number][] = [
  ["id", K_ID],
  ["user_id", K_USER],
  ["latitude", K_LAT],
  ["longitude", K_LNG],
  ["accuracy", K_ACCURACY],
  ["altitude", K_ALTITUDE],
  ["recorded_at", K_RECORDED],
  ["received_at", K_RECEIVED],
  ["cell", K_CELL],
];

/** The bit of a known key between `start` and `end`, 0 for any other. */
function keyOf(b: Buffer, start: number, end: number): number {
  const len = end - start;
  for (const [name, bit] of NAMES) {
    if (name.length !== len) continue;
    let k = 0;
    while (k < len && b[start + k] === name.charCodeAt(k)) k++;
    if (k === len) return bit;
  }
  return 0;
}

/** Bun's (and Node's) undocumented native slice decoder: several times faster than `toString("latin1", ...)`. */
type Latin1 = Buffer & { latin1Slice(start: number, end: number): string };

function latin1(b: Buffer, start: number, end: number): string {
  return (b as Latin1).latin1Slice(start, end);
}

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;

/** End of the JSON number starting at `i` (strict grammar), or -1 when there is none. */
function numberEnd(b: Buffer, i: number): number {
  if (b[i] === 0x2d) i++;
  if (b[i] === 0x30) i++;
  else if (isDigit(b[i])) while (isDigit(b[i])) i++;
  else return -1;
  if (b[i] === 0x2e) {
    i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  if (b[i] === 0x65 || b[i] === 0x45) {
    i++;
    if (b[i] === 0x2b || b[i] === 0x2d) i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  return i;
}

/**
 * The double of a JSON number (already checked). With at most 15 significant digits, no exponent part and at most
 * 22 decimals, `digits / 10^decimals` is one correctly rounded operation on exact operands: the same double as
 * `JSON.parse`. Anything else goes through `Number` on its text.
 */
function numberAt(b: Buffer, start: number, end: number): number {
  let i = start;
  const negative = b[i] === 0x2d;
  if (negative) i++;
  let m = 0;
  let digits = 0;
  let decimals = 0;
  let point = false;
  for (; i < end; i++) {
    const c = b[i] as number;
    if (c === 0x2e) {
      point = true;
      continue;
    }
    if (c < 0x30 || c > 0x39) return Number(latin1(b, start, end));
    m = m * 10 + (c - 0x30);
    if (m !== 0) digits++;
    if (point) decimals++;
  }
  if (digits > 15 || decimals > 22) return Number(latin1(b, start, end));
  const v = decimals === 0 ? m : m / (POW10[decimals] as number);
  return negative ? -v : v;
}

/**
 * {@link checkLocationEvent} of an entry's parsed payload: the fixes of a single event or of a non-empty array (at
 * most `MAX_ENTRY_FIXES`) whose every element passes, else undefined.
 */
export function checkLocationEntry(value: unknown): LocationEvent[] | undefined {
  if (!Array.isArray(value)) {
    const event = checkLocationEvent(value);
    return event && [event];
  }
  if (value.length === 0 || value.length > MAX_ENTRY_FIXES) return undefined;
  const out: LocationEvent[] = new Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const event = checkLocationEvent(value[i]);
    if (event === undefined) return undefined;
    out[i] = event;
  }
  return out;
}

/**
 * Decodes a `locations` entry as `locationEntry` does, faster: well-formed entries (all of them, from a validating
 * producer) pass {@link checkLocationEntry}; anything else goes through the full schema, so a malformed entry is
 * rejected with the schema's own field-level reasons and dead-lettered whole by the consumer (the api validates
 * every fix before it appends an entry, so a bad one comes from outside it; its valid fixes wait in the dead-letter
 * stream with it).
 */
export const locationEntryDecoder: ZodType<LocationEvent[]> = checkedFirst(checkLocationEntry, locationEntry);

/**
 * Decodes a `locations` entry as `locationEvent` does, faster: well-formed events (all of them, from a validating
 * producer) pass {@link checkLocationEvent}; anything else goes through the full schema, so a malformed entry is
 * rejected with the schema's own field-level reasons (and dead-lettered by the consumer).
 */
export const locationEventDecoder: ZodType<LocationEvent> = checkedFirst(checkLocationEvent, locationEvent);

/** A schema taking what `check` returns, else what `schema` parses, with the schema's issues. */
function checkedFirst<T>(check: (value: unknown) => T | undefined, schema: ZodType<T>): ZodType<T> {
  return z.unknown().transform((value, ctx) => {
    const fast = check(value);
    if (fast) return fast;
    const r = schema.safeParse(value);
    if (r.success) return r.data;
    for (const issue of r.error.issues) ctx.addIssue({ code: "custom", message: issue.message, path: issue.path });
    return z.NEVER;
  });
}
