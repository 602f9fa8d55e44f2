/**
 * `bun run bench:filter`: entity changes matched and delivered by the filter-processor's core with 10k and 100k
 * viewports (grid and R-tree), the cost of a snapshot, end-to-end p99 at 5k changes/s, and the audited design
 * (GEOSEARCH 50 km + a GET per candidate, pipelined and, as the audit describes it, a round trip each; matching only)
 * on the same data. Env: BENCH_CHANGES (core changes per run, default
 * 200000), BENCH_SECONDS (audited and end-to-end windows, default 5), BENCH_E2E_VIEWPORTS (default 100000), and
 * those of e2e.ts (run as its own process at the end).
 */
import { createRedis } from "@bump/streams";
import { testRedisUrl, uniquePrefix } from "@bump/testing";
import { GridViewportIndex } from "../../services/filter-processor/src/viewport-index-grid.ts";
import { RbushViewportIndex } from "../../services/filter-processor/src/viewport-index-rbush.ts";
import { loadAudited, runAudited } from "./audited.ts";
import { type CoreResult, runCore } from "./core.ts";
import { change, cities, rng, viewports } from "./data.ts";
import type { E2eResult } from "./e2e.ts";

const CHANGES = Number(process.env.BENCH_CHANGES ?? 200_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const E2E_VIEWPORTS = Number(process.env.BENCH_E2E_VIEWPORTS ?? 100_000);
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

const r = rng(1);
const places = cities(r, 200);
const redisUrl = await testRedisUrl();
const redis = createRedis(redisUrl);
const rows: string[] = [];
const summary: Record<number, { core: CoreResult; audited: number; asAudited: number }> = {};

for (const n of [10_000, 100_000]) {
  const boxes = viewports(rng(n), places, n);
  const grid = await runCore(new GridViewportIndex(), boxes, places, CHANGES);
  const tree = await runCore(new RbushViewportIndex(), boxes, places, CHANGES);
  const prefix = uniquePrefix("bench-audited");
  await loadAudited(redis, prefix, boxes);
  const ar = rng(5);
  const events = Array.from({ length: 200_000 }, (_, i) => change(ar, places, 50_000, i));
  const audited = await runAudited(redis, prefix, events, SECONDS);
  const asAudited = await runAudited(redis, prefix, events, SECONDS, "round-trips");
  const keys = await redis.keys(`${prefix}:*`);
  for (let i = 0; i < keys.length; i += 10_000) await redis.del(...keys.slice(i, i + 10_000));
  summary[n] = { core: grid, audited: audited.perS, asAudited: asAudited.perS };
  for (const [name, c] of [
    ["grid", grid],
    ["rbush", tree],
  ] as const) {
    rows.push(
      `| ${fmt(n)} | core, ${name} index | ${fmt(c.matchedPerS)} | ${fmt(c.deliveredPerS)} | ${c.usersPerChange.toFixed(1)} (max ${c.maxUsers}) | ${fmt(c.userFramesPerS)} user-frames/s; snapshot ${c.snapshotUs.toFixed(1)} µs for ${c.snapshotSize.toFixed(1)} entities |`,
    );
  }
  rows.push(
    `| ${fmt(n)} | audited: GEOSEARCH 50 km + the candidates' GETs pipelined | ${fmt(audited.perS)} | - | ${audited.matched.toFixed(1)} of ${audited.candidates.toFixed(0)} candidates | core grid = ${fmt(grid.matchedPerS / audited.perS)}x |`,
  );
  rows.push(
    `| ${fmt(n)} | audited as described: GEOSEARCH 50 km + a GET round trip per candidate | ${fmt(asAudited.perS)} | - | ${asAudited.matched.toFixed(1)} of ${asAudited.candidates.toFixed(0)} candidates | core grid = ${fmt(grid.matchedPerS / asAudited.perS)}x |`,
  );
  console.error(`done ${n}`);
}
redis.disconnect();

console.log("| viewports | design | changes/s matched | changes/s matched + flushed | users per change | note |");
console.log("|---|---|---|---|---|---|");
for (const row of rows) console.log(row);

// The end-to-end run is its own process, started once this one's garbage is collected and the machine settled, so
// that nothing of the in-process phases runs (or collects) during it.
Bun.gc(true);
await Bun.sleep(2_000);
const child = Bun.spawn(["bun", "bench/filter/e2e.ts"], {
  stdout: "pipe",
  stderr: "inherit",
  env: {
    ...process.env,
    REDIS_URL: redisUrl,
    BENCH_E2E_VIEWPORTS: String(E2E_VIEWPORTS),
    BENCH_SECONDS: String(SECONDS),
  },
});
const e2eOut = await new Response(child.stdout).text();
if ((await child.exited) !== 0) throw new Error("end-to-end run failed");
console.log();
console.log(e2eOut.slice(0, e2eOut.indexOf("\n<!--")).trim());
const e2e = JSON.parse(e2eOut.slice(e2eOut.indexOf("<!-- ") + 5, e2eOut.lastIndexOf(" -->"))) as E2eResult;
const big = summary[100_000];
if (big) {
  console.log();
  console.log(
    `Goals: >= 50,000 changes/s matched at 100k viewports: ${fmt(big.core.matchedPerS)}; >= 100x audited: ${fmt(big.core.matchedPerS / big.asAudited)}x as described (a GET round trip per candidate), ${fmt(big.core.matchedPerS / big.audited)}x with its GETs pipelined; p99 <= 50 ms change -> socket at 5k/s: ${e2e.total.p99} ms.`,
  );
}
process.exit(0);
