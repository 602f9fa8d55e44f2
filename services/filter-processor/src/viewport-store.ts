import type { EntityFilter, Viewport } from "@bump/contracts";
import { entityFilter, viewport as viewportSchema } from "@bump/contracts";
import type { RedisClient as Redis } from "@bump/streams";
import type { FilterKeys } from "./keys.ts";

/** One user's view as stored in Redis. */
export interface StoredView {
  readonly box: Viewport;
  readonly filter: EntityFilter | undefined;
  readonly session: string;
  readonly at: number;
  /** Milliseconds the stored view still lives. */
  readonly ttlMs: number;
}

/** Redis GEO accepts latitudes within +-85.05112878 only. */
const GEO_LAT = 85.05112878;

/** The centre of a viewport (across the antimeridian when it crosses), in GEO-storable range. */
export function viewportCentre(box: Viewport): { lat: number; lng: number } {
  const lat = Math.max(-GEO_LAT, Math.min(GEO_LAT, (box.north + box.south) / 2));
  let lng = box.west <= box.east ? (box.west + box.east) / 2 : (box.west + box.east + 360) / 2;
  if (lng > 180) lng -= 360;
  return { lat, lng };
}

/**
 * Viewports in Redis, so a restart or another instance can rebuild its index: a hash per user with a TTL
 * (`viewport:<user>`) and the GEO set of viewport centres (`viewports:geo`). The hash is the truth; a GEO member
 * whose hash expired is stale and removed when seen.
 */
export class ViewportStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: FilterKeys,
    private readonly ttlMs: number,
  ) {}

  /** Writes (or, for null, deletes) the views of these users in one pipeline. */
  async save(changes: readonly { user: string; view: Omit<StoredView, "ttlMs"> | null }[]): Promise<void> {
    if (changes.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const { user, view } of changes) {
      const key = this.keys.viewport(user);
      if (!view) {
        pipe.del(key);
        pipe.zrem(this.keys.geo, user);
        continue;
      }
      const { box } = view;
      pipe.del(key);
      pipe.hset(key, {
        n: box.north,
        s: box.south,
        e: box.east,
        w: box.west,
        f: view.filter ? JSON.stringify(view.filter) : "",
        sid: view.session,
        at: view.at,
      });
      pipe.pexpire(key, this.ttlMs);
      const c = viewportCentre(box);
      pipe.geoadd(this.keys.geo, c.lng, c.lat, user);
    }
    await pipe.exec();
  }

  /** Extends the TTL of these users' views. */
  async refresh(users: readonly string[]): Promise<void> {
    if (users.length === 0) return;
    const pipe = this.redis.pipeline();
    for (const u of users) pipe.pexpire(this.keys.viewport(u), this.ttlMs);
    await pipe.exec();
  }

  /**
   * Every stored view of a user `owns` accepts, read page by page from the GEO set; members whose hash expired
   * (or does not parse) are removed from the set.
   */
  async loadAll(owns: (user: string) => boolean): Promise<Map<string, StoredView>> {
    const out = new Map<string, StoredView>();
    let cursor = "0";
    do {
      const [next, flat] = await this.redis.zscan(this.keys.geo, cursor, "COUNT", 1000);
      cursor = next;
      const users: string[] = [];
      for (let i = 0; i < flat.length; i += 2) {
        const u = flat[i] as string;
        if (owns(u)) users.push(u);
      }
      if (users.length === 0) continue;
      const pipe = this.redis.pipeline();
      for (const u of users) {
        pipe.hgetall(this.keys.viewport(u));
        pipe.pttl(this.keys.viewport(u));
      }
      const res = (await pipe.exec()) ?? [];
      const stale: string[] = [];
      users.forEach((u, i) => {
        const hash = res[2 * i]?.[1] as Record<string, string> | undefined;
        const ttl = Number(res[2 * i + 1]?.[1] ?? -2);
        const view = hash ? parseView(hash, ttl) : undefined;
        if (view) out.set(u, view);
        else stale.push(u);
      });
      if (stale.length) await this.redis.zrem(this.keys.geo, ...stale);
    } while (cursor !== "0");
    return out;
  }
}

function parseView(h: Record<string, string>, ttl: number): StoredView | undefined {
  if (ttl <= 0 || h.n === undefined) return undefined;
  const box = viewportSchema.safeParse({
    north: Number(h.n),
    south: Number(h.s),
    east: Number(h.e),
    west: Number(h.w),
  });
  if (!box.success) return undefined;
  let filter: EntityFilter | undefined;
  if (h.f) {
    let raw: unknown;
    try {
      raw = JSON.parse(h.f);
    } catch {
      return undefined;
    }
    const f = entityFilter.safeParse(raw);
    if (!f.success) return undefined;
    filter = f.data;
  }
  return { box: box.data, filter, session: h.sid ?? "", at: Number(h.at ?? 0), ttlMs: ttl };
}
