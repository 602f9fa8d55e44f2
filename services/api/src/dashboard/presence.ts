import type { DeliveryKeys } from "@bump/delivery";
import { type RedisClient as Redis, SlotBatch, scanKeys } from "@bump/streams";

/** Users connected through one gateway, as its presence registrations say. */
export interface GatewayUsers {
  gateway: string;
  users: number;
}

/** Connected users per live gateway. */
export interface PresenceSummary {
  gateways: GatewayUsers[];
  /** Distinct users with at least one live registration. */
  users: number;
  /** Presence keys examined. */
  scanned: number;
  /** True when the scan stopped at `maxKeys`, so the counts are a lower bound. */
  truncated: boolean;
}

/**
 * Counts connected users per gateway from the gateways' presence registrations (`{u:<id>}:gw` sorted sets scored
 * by expiry; a gateway refreshes its users every third of the presence TTL). Walks the keyspace with SCAN, at most
 * `maxKeys` keys, so it costs O(keys) on the Redis server: an operator's view, not a hot path. On Redis Cluster
 * it walks every master.
 */
export async function presenceSummary(
  redis: Redis,
  keys: DeliveryKeys,
  opts: { maxKeys: number; now?: number },
): Promise<PresenceSummary> {
  const now = opts.now ?? Date.now();
  const match = keys.user("*").presence;
  const perGateway = new Map<string, number>();
  let users = 0;
  let scanned = 0;
  let truncated = false;
  for await (const batch of scanKeys(redis, match)) {
    const slice = batch.slice(0, opts.maxKeys - scanned);
    scanned += slice.length;
    const pipe = new SlotBatch(redis);
    for (const key of slice) pipe.for(key).zrangebyscore(key, now, "+inf");
    for (const [err, gws] of await pipe.exec()) {
      if (err || !Array.isArray(gws) || gws.length === 0) continue;
      users++;
      for (const gw of gws as string[]) perGateway.set(gw, (perGateway.get(gw) ?? 0) + 1);
    }
    if (scanned >= opts.maxKeys) {
      truncated = true;
      break;
    }
  }
  return {
    gateways: [...perGateway]
      .map(([gateway, n]) => ({ gateway, users: n }))
      .sort((a, b) => (a.gateway < b.gateway ? -1 : 1)),
    users,
    scanned,
    truncated,
  };
}
