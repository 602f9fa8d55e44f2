import { type RedisClient as Redis, SlotBatch } from "@bump/streams";
import type { DeliveryKeys } from "./keys.ts";
import type { Presence } from "./presence.ts";

/** Options of {@link RedisPresence}. */
export interface RedisPresenceOptions {
  redis: Redis;
  keys: DeliveryKeys;
  /** How long a registration lives without a refresh, ms. Default 30,000. */
  ttlMs?: number;
  /** Users per pipeline (per batch of pipelines, one per master, on a cluster). Default 1,000. */
  batchSize?: number;
}

/**
 * Presence in Redis: a sorted set per user (`{u:<id>}:gw`, in the user's slot, read by the append script) of
 * gateway ids scored by their expiry time.
 */
export class RedisPresence implements Presence {
  readonly ttlMs: number;
  private readonly batch: number;

  constructor(private readonly opts: RedisPresenceOptions) {
    this.ttlMs = opts.ttlMs ?? 30_000;
    this.batch = opts.batchSize ?? 1_000;
  }

  async register(gateway: string, users: readonly string[]): Promise<void> {
    const expires = Date.now() + this.ttlMs;
    await this.each(users, (pipe, key) => {
      pipe.for(key).zadd(key, expires, gateway);
      pipe.for(key).pexpire(key, this.ttlMs * 2);
    });
  }

  async unregister(gateway: string, users: readonly string[]): Promise<void> {
    await this.each(users, (pipe, key) => void pipe.for(key).zrem(key, gateway));
  }

  async lookup(users: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    const now = Date.now();
    for (let i = 0; i < users.length; i += this.batch) {
      const slice = users.slice(i, i + this.batch);
      const pipe = new SlotBatch(this.opts.redis);
      for (const u of slice) {
        const key = this.opts.keys.user(u).presence;
        pipe.for(key).zrangebyscore(key, now, "+inf");
      }
      const res = await pipe.exec();
      slice.forEach((u, j) => {
        const [err, gws] = res[j] ?? [null, []];
        if (err) throw err;
        if ((gws as string[]).length) out.set(u, gws as string[]);
      });
    }
    return out;
  }

  private async each(users: readonly string[], add: (pipe: SlotBatch, key: string) => void): Promise<void> {
    for (let i = 0; i < users.length; i += this.batch) {
      const pipe = new SlotBatch(this.opts.redis);
      for (const u of users.slice(i, i + this.batch)) add(pipe, this.opts.keys.user(u).presence);
      const res = await pipe.exec();
      for (const [err] of res) if (err) throw err;
    }
  }
}
