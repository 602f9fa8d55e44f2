import type { RedisClient as Redis } from "@bump/streams";

/** A user's latest fix in the window. */
export interface LiveUser {
  user_id: string;
  latitude: number;
  longitude: number;
  at: number;
}

/** A session's latest viewport in the window (cleared viewports are left out). */
export interface LiveViewport {
  user_id: string;
  session_id: string;
  north: number;
  south: number;
  east: number;
  west: number;
  at: number;
}

/** A bump detected in the window. */
export interface LiveBump {
  id: string;
  user_a: string;
  user_b: string;
  latitude: number;
  longitude: number;
  at: number;
}

/** What the dashboard's map shows: the recent tail of the locations, viewports and bumps streams. */
export interface LiveView {
  window_ms: number;
  users: LiveUser[];
  viewports: LiveViewport[];
  bumps: LiveBump[];
}

/** The Redis keys of the streams read. */
export interface LiveStreams {
  /** The locations stream, or every partition of it. */
  locations: readonly string[];
  viewports: string;
  bumps: string;
}

type Row = [string, string[]];

/**
 * The payloads of `rows` (newest first) in the same order: an entry holding an array (a `locations` entry of several
 * fixes, oldest first) gives its elements newest first.
 */
function payloads(rows: Row[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const push = (v: unknown) => {
    if (v && typeof v === "object" && !Array.isArray(v)) out.push(v as Record<string, unknown>);
  };
  for (const [, fields] of rows) {
    for (let i = 0; i < fields.length; i += 2) {
      if (fields[i] !== "d") continue;
      try {
        const v: unknown = JSON.parse(fields[i + 1] ?? "");
        if (Array.isArray(v)) for (let k = v.length - 1; k >= 0; k--) push(v[k]);
        else push(v);
      } catch {
        // A malformed entry is the consumers' concern (dead letters); the map skips it.
      }
    }
  }
  return out;
}

/** Orders stream ids newest first. */
function newer(a: string, b: string): number {
  const [am = 0, as = 0] = a.split("-").map(Number);
  const [bm = 0, bs = 0] = b.split("-").map(Number);
  return bm - am || bs - as;
}

const num = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const str = (v: unknown): v is string => typeof v === "string";

/**
 * Reads at most `count` of the newest entries of each stream no older than `windowMs` (XREVRANGE, so the cost is
 * bounded by `count` whatever the stream's length) and keeps each user's latest fix and each session's latest
 * viewport. Read-only; entries that do not have the expected shape are skipped.
 */
export async function liveView(
  redis: Redis,
  streams: LiveStreams,
  opts: { windowMs: number; count: number; now?: number },
): Promise<LiveView> {
  const since = `${Math.max(0, (opts.now ?? Date.now()) - opts.windowMs)}-0`;
  const read = (key: string) => redis.xrevrange(key, "+", since, "COUNT", opts.count) as Promise<Row[]>;
  const [vpRows, bumpRows, ...locParts] = await Promise.all([
    read(streams.viewports),
    read(streams.bumps),
    ...streams.locations.map(read),
  ]);
  // Newest first across partitions; a fix on several partitions (near a border) is the same fix.
  const locRows = locParts.length === 1 ? (locParts[0] ?? []) : locParts.flat().sort((a, b) => newer(a[0], b[0]));
  const users = new Map<string, LiveUser>();
  for (const p of payloads(locRows)) {
    if (!str(p.user_id) || !num(p.latitude) || !num(p.longitude) || users.has(p.user_id)) continue;
    const at = num(p.received_at) ? p.received_at : 0;
    users.set(p.user_id, { user_id: p.user_id, latitude: p.latitude, longitude: p.longitude, at });
  }
  const sessions = new Map<string, LiveViewport | null>();
  for (const p of payloads(vpRows)) {
    if (!str(p.user_id) || !str(p.session_id) || sessions.has(p.session_id)) continue;
    const v = p.viewport as Record<string, unknown> | null | undefined;
    const at = num(p.at) ? p.at : 0;
    sessions.set(
      p.session_id,
      v && num(v.north) && num(v.south) && num(v.east) && num(v.west)
        ? {
            user_id: p.user_id,
            session_id: p.session_id,
            north: v.north,
            south: v.south,
            east: v.east,
            west: v.west,
            at,
          }
        : null,
    );
  }
  const bumps: LiveBump[] = [];
  for (const p of payloads(bumpRows)) {
    if (!str(p.id) || !str(p.user_a) || !str(p.user_b) || !num(p.latitude) || !num(p.longitude)) continue;
    const at = num(p.at) ? p.at : 0;
    bumps.push({ id: p.id, user_a: p.user_a, user_b: p.user_b, latitude: p.latitude, longitude: p.longitude, at });
  }
  return {
    window_ms: opts.windowMs,
    users: [...users.values()],
    viewports: [...sessions.values()].filter((v): v is LiveViewport => v !== null),
    bumps,
  };
}
