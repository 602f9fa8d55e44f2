import { haversineM, type TraceFix } from "@bump/geo";
import type { RedisClient as Redis } from "@bump/streams";
import { gridDisk } from "h3-js";

/**
 * The replaced design's detection, for comparison: per fix SADD into a SET per H3 cell and HSET of the user's
 * fix, then SMEMBERS of each cell of the 1-ring and HGETALL of each candidate user, one round trip each.
 */
export class SeedDesignDetector {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private cellKey(cell: string): string {
    return `${this.prefix}:cell:${cell}`;
  }

  private userKey(user: string): string {
    return `${this.prefix}:user:${user}`;
  }

  /** Stores fixes without detecting (pipelined): the population the measured fixes meet. */
  async preload(fixes: readonly TraceFix[]): Promise<void> {
    for (let i = 0; i < fixes.length; i += 5_000) {
      const pipe = this.redis.pipeline();
      for (const f of fixes.slice(i, i + 5_000)) {
        pipe.sadd(this.cellKey(f.cell), f.user_id);
        pipe.hset(this.userKey(f.user_id), "lat", f.latitude, "lng", f.longitude, "at", f.recorded_at);
      }
      await pipe.exec();
    }
  }

  /** Detects one fix the seed way; resolves with the number of bumps found. */
  async observe(f: TraceFix, radiusM: number, windowMs: number): Promise<number> {
    await this.redis.sadd(this.cellKey(f.cell), f.user_id);
    await this.redis.hset(this.userKey(f.user_id), "lat", f.latitude, "lng", f.longitude, "at", f.recorded_at);
    let found = 0;
    for (const cell of gridDisk(f.cell, 1)) {
      const members = await this.redis.smembers(this.cellKey(cell));
      for (const user of members) {
        if (user === f.user_id) continue;
        const h = await this.redis.hgetall(this.userKey(user));
        const d = haversineM(f.latitude, f.longitude, Number(h.lat), Number(h.lng));
        if (d <= radiusM && Math.abs(Number(h.at) - f.recorded_at) <= windowMs) found++;
      }
    }
    return found;
  }
}
