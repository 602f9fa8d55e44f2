import { isCluster, keySlot, type RedisClient as Redis, SlotBatch } from "@bump/streams";
import type { DeliveryKeys } from "./keys.ts";
import type { Presence } from "./presence.ts";
import { type DeliveryScripts, withDeliveryScripts } from "./scripts.ts";

/** Options of {@link RedisPresence}. */
export interface RedisPresenceOptions {
  redis: Redis;
  keys: DeliveryKeys;
  /** How long a registration lives without a refresh, ms. Default 30,000. */
  ttlMs?: number;
  /** Users per pipeline (per batch of pipelines, one per master, on a cluster). Default 1,000. */
  batchSize?: number;
}

/** Users per presence script call: a call holds Redis for about a millisecond at most. */
const USERS_PER_MARK = 100;

/**
 * Presence in Redis: a sorted set per user (`{u:<id>}:gw`, in the user's slot) of gateway ids scored by their
 * expiry time. Each registration or removal that changes a user's live gateways also notes them in the user's meta
 * hash (valid until the earliest expiry among them: at the end of field `w`, after the expiry deadline and epoch, or
 * in field `g` while the user has no sequence), where the append script reads them with the user's sequence.
 */
export class RedisPresence implements Presence {
  readonly ttlMs: number;
  private readonly batch: number;

  constructor(private readonly opts: RedisPresenceOptions) {
    this.ttlMs = opts.ttlMs ?? 30_000;
    this.batch = opts.batchSize ?? 1_000;
  }

  async register(gateway: string, users: readonly string[]): Promise<void> {
    await this.mark(gateway, users, String(Date.now() + this.ttlMs));
  }

  async refresh(gateway: string, users: readonly string[]): Promise<void> {
    // The meta's note of the live gateways keeps its `until`: the append script reads the zset once it lapses.
    const expires = Date.now() + this.ttlMs;
    for (let i = 0; i < users.length; i += this.batch) {
      const pipe = new SlotBatch(this.opts.redis);
      for (const u of users.slice(i, i + this.batch)) {
        const key = this.opts.keys.presence(u);
        pipe.for(key).zadd(key, expires, gateway);
        pipe.for(key).pexpire(key, this.ttlMs * 2);
      }
      const res = await pipe.exec();
      for (const [err] of res) if (err) throw err;
    }
  }

  async unregister(gateway: string, users: readonly string[]): Promise<void> {
    await this.mark(gateway, users, "");
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

  /**
   * Sets (or, with `expiresAt` "", removes) `gateway` for each user: one script call per chunk of up to
   * {@link USERS_PER_MARK} users (of one slot on a cluster), a pipeline of them per batch.
   */
  private async mark(gateway: string, users: readonly string[], expiresAt: string): Promise<void> {
    const redis = withDeliveryScripts(this.opts.redis);
    const cluster = isCluster(redis);
    for (let i = 0; i < users.length; i += this.batch) {
      const open = new Map<number, string[]>();
      const chunks: string[][] = [];
      for (const u of users.slice(i, i + this.batch)) {
        const k = this.opts.keys.user(u);
        const slot = cluster ? keySlot(k.presence) : 0;
        let keys = open.get(slot);
        if (!keys || keys.length >= 2 * USERS_PER_MARK) {
          keys = [];
          open.set(slot, keys);
          chunks.push(keys);
        }
        keys.push(k.presence, k.meta);
      }
      const pipe = new SlotBatch(redis);
      for (const keys of chunks) {
        (pipe.for(keys[0] as string) as unknown as DeliveryScripts).markPresence(
          keys.length,
          ...keys,
          gateway,
          expiresAt,
          this.ttlMs,
        );
      }
      const res = await pipe.exec();
      for (const [err] of res) if (err) throw err;
    }
  }
}
