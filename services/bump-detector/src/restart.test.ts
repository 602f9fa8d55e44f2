import { afterAll, beforeAll, expect, test } from "bun:test";
import { bumpEvent, locationEntryPayload } from "@bump/contracts";
import { bumpOracle, defaultBumpRules, randomTrace } from "@bump/geo";
import type { RedisClient as Redis } from "@bump/streams";
import { createRedis } from "@bump/streams";
import { freePort, type ServiceProcess, spawnService, testRedisUrl, uniquePrefix, waitFor } from "@bump/testing";
import { detectorKeys } from "./keys.ts";
import { DETECTOR_GROUP } from "./service.ts";

const entry = new URL("./main.ts", import.meta.url).pathname;
let redis: Redis;
let url: string;
const procs: ServiceProcess[] = [];

beforeAll(async () => {
  url = await testRedisUrl();
  redis = createRedis(url);
});
afterAll(async () => {
  for (const p of procs) await p.kill9();
  redis.disconnect();
});

async function launch(ns: string): Promise<ServiceProcess> {
  const proc = spawnService(entry, {
    REDIS_URL: url,
    BUS_NAMESPACE: ns,
    PORT: String(await freePort()),
    BUMP_BATCH_SIZE: "20",
    LOG_LEVEL: "warn",
  });
  procs.push(proc);
  return proc;
}

/** Entries of the group not yet acked or not yet delivered. */
async function backlog(stream: string): Promise<number> {
  const groups = (await redis.call("XINFO", "GROUPS", stream)) as unknown[][];
  const g = groups.find((x) => x[x.indexOf("name") + 1] === DETECTOR_GROUP);
  if (!g) return Number.POSITIVE_INFINITY;
  return Number(g[g.indexOf("pending") + 1]) + Number(g[g.indexOf("lag") + 1]);
}

test("kill -9 of the detector mid-trace of multi-fix entries, then a restart: exactly the oracle's bumps, each once", async () => {
  const ns = uniquePrefix();
  const keys = detectorKeys({ ns });
  const trace = randomTrace({
    users: 1_500,
    fixes: 10_000,
    center: { latitude: 35.6762, longitude: 139.6503 },
    spreadM: 1_200,
    startMs: Date.now(),
    durationMs: 90_000,
    seed: 23,
  });
  const expected = bumpOracle(trace, defaultBumpRules);
  expect(expected.length).toBeGreaterThan(50);
  // Entries of 1 to 8 fixes, single fixes and multi-fix entries as the api appends them.
  const publish = async (from: number, to: number) => {
    for (let i = from; i < to; i += 500) {
      const pipe = redis.pipeline();
      const end = Math.min(to, i + 500);
      for (let j = i, k = 0; j < end; k++) {
        const size = 1 + ((j + k) % 8);
        const fixes = trace.slice(j, Math.min(end, j + size));
        pipe.xadd(keys.locations.stream, "*", "d", locationEntryPayload(fixes.map((f) => JSON.stringify(f))));
        j += fixes.length;
      }
      await pipe.exec();
    }
  };
  const first = await launch(ns);
  await publish(0, 6_000);
  // Kill it while it is working through the backlog (some bumps out, some entries still pending).
  await waitFor(async () => (await redis.xlen(keys.bumps.stream)) > expected.length / 4, { timeoutMs: 30_000 });
  await first.kill9();
  const left = await backlog(keys.locations.stream);
  await publish(6_000, trace.length);
  await launch(ns);
  await waitFor(async () => (await backlog(keys.locations.stream)) === 0, {
    timeoutMs: 40_000,
    what: "backlog drained",
  });
  const entries = (await redis.xrange(keys.bumps.stream, "-", "+")) as [string, string[]][];
  const got = entries.map(([, f]) => bumpEvent.parse(JSON.parse(f[1] ?? "")));
  expect(left).toBeGreaterThan(0);
  expect(got.map((b) => b.id).sort()).toEqual(expected.map((b) => b.id).sort());
}, 90_000);
