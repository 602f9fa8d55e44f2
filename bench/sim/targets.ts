import { createJwt } from "@bump/auth";
import { locationEntryPayload, MAX_ENTRY_FIXES } from "@bump/contracts";
import { partitionsFor } from "@bump/geo";
import { devAuthSecret } from "@bump/service";
import type { RedisClient as Redis } from "@bump/streams";
import { streamKeys, streamNames } from "@bump/streams";
import type { SimFix } from "./city.ts";

/** Where the simulator sends fixes. Resolves with the number accepted. */
export interface Target {
  send(fixes: readonly SimFix[]): Promise<number>;
}

/** Sends over the API: one `POST /v1/locations` per fix, or with `batch` one `/batch` per user per call. */
export async function httpTarget(
  api: string,
  users: readonly string[],
  batch: boolean,
  concurrency = 64,
): Promise<Target> {
  const jwt = createJwt(devAuthSecret);
  const tokens = new Map<string, string>();
  for (const u of users) tokens.set(u, await jwt.sign(u, { ttlSeconds: 24 * 3600 }));
  const body = (f: SimFix) => ({
    id: f.id,
    latitude: f.latitude,
    longitude: f.longitude,
    accuracy: f.accuracy,
    recorded_at: new Date(f.recorded_at).toISOString(),
  });
  const post = async (user: string, path: string, payload: unknown) => {
    for (let attempt = 0; attempt < 5; attempt++) {
      const res = await fetch(`${api}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${tokens.get(user)}`, "content-type": "application/json" },
        body: JSON.stringify(payload),
      });
      await res.arrayBuffer();
      if (res.status === 202) return true;
      if (res.status !== 503) return false;
      await Bun.sleep(Number(res.headers.get("retry-after") ?? 1) * 1000);
    }
    return false;
  };
  return {
    async send(fixes) {
      const jobs: (() => Promise<number>)[] = [];
      if (batch) {
        const byUser = new Map<string, SimFix[]>();
        for (const f of fixes) byUser.set(f.user_id, [...(byUser.get(f.user_id) ?? []), f]);
        for (const [u, list] of byUser)
          jobs.push(async () =>
            (await post(u, "/v1/locations/batch", { updates: list.map(body) })) ? list.length : 0,
          );
      } else {
        for (const f of fixes) jobs.push(async () => ((await post(f.user_id, "/v1/locations", body(f))) ? 1 : 0));
      }
      let ok = 0;
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(concurrency, jobs.length) }, async () => {
          while (next < jobs.length) {
            const job = jobs[next++] as () => Promise<number>;
            ok += await job();
          }
        }),
      );
      return ok;
    },
  };
}

/** Appends LocationEvents straight to the `locations` stream (or its partitions), as the API would. */
export function streamTarget(redis: Redis, ns: string, partitions: number): Target {
  const keysOf = (p: number) =>
    streamKeys(streamNames.locations, { ns: ns || undefined, partition: partitions > 1 ? p : undefined });
  return {
    async send(fixes) {
      const received = Date.now();
      const byPartition: string[][] = Array.from({ length: partitions }, () => []);
      for (const f of fixes) {
        const payload = JSON.stringify({ ...f, received_at: received });
        for (const p of partitionsFor(f.cell, partitions)) byPartition[p]?.push(payload);
      }
      // as the api appends the fixes it gathers: multi-fix entries, one write per partition
      const pipe = redis.pipeline();
      byPartition.forEach((payloads, p) => {
        for (let i = 0; i < payloads.length; i += MAX_ENTRY_FIXES)
          pipe.xadd(keysOf(p).stream, "*", "d", locationEntryPayload(payloads.slice(i, i + MAX_ENTRY_FIXES)));
      });
      await pipe.exec();
      return fixes.length;
    },
  };
}
