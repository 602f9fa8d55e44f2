/**
 * `bun run bench:pipeline`: the location pipeline's bump detection, the proximity index alone (grid and H3) and
 * the real service (its own process, `services/bump-detector/src/main.ts`) from a Redis stream, at 100k and 1M active users; latency from the second fix on the bus to
 * its bump on the bus at about 5k fixes/s; and the replaced seed design on the same trace. Calls `benchHttp()`
 * from `bench/pipeline/http.ts` when that file exists (not with `--detector`). Prints a markdown table.
 */
import { MAX_ENTRY_FIXES } from "@bump/contracts";
import { createRedis } from "@bump/streams";
import { startRedisServer, uniquePrefix } from "@bump/testing";
import { bumpLatency, indexRate, seedRate, streamRate } from "./detector-bench.ts";
import { crowd } from "./population.ts";

type Row = [string, string, string, string];
const rows: Row[] = [];
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const log = (msg: string) => process.stderr.write(`${msg}\n`);

const server = await startRedisServer({ args: ["--appendonly", "no"] });
const redis = createRedis(server.url);
try {
  const startMs = Date.now();
  log("building the 100k crowd");
  const small = crowd(100_000, 200_000, startMs, 1);
  // The detector runs in its own process (the real service's main.ts); the latency run comes first all the same, so
  // that the publisher in this process is not slowed by the 1M crowd's heap.
  log("latency at 5k fixes/s");
  const lat = await bumpLatency(redis, server.url, small, uniquePrefix(), "grid", 5_000, 10);
  log("building the 1M crowd");
  const large = crowd(1_000_000, 100_000, startMs, 2);

  for (const [label, c] of [
    ["100k", small],
    ["1M", large],
  ] as const) {
    const grid = indexRate("grid", c);
    const h3 = indexRate("h3", c);
    rows.push([
      `index alone, grid, ${label} users (fixes/s)`,
      fmt(grid.rate),
      `h3: ${fmt(h3.rate)}`,
      `${(grid.rate / h3.rate).toFixed(1)}x h3; ${grid.candidates.toFixed(1)} vs ${h3.candidates.toFixed(1)} candidates/fix`,
    ]);
  }

  // Entries as the api appends them under load: the fixes of a turn in entries of MAX_ENTRY_FIXES.
  const entries = `entries of ${MAX_ENTRY_FIXES} fixes as the api appends them under load`;
  log("end to end from the stream");
  const e2eSmall = await streamRate(redis, server.url, small, uniquePrefix(), "grid", MAX_ENTRY_FIXES);
  rows.push([
    `from the stream, 100k users, ${entries} (fixes/s)`,
    fmt(e2eSmall.rate),
    ">= 100,000",
    `${(e2eSmall.rate / 100_000).toFixed(2)}x goal; ${fmt(e2eSmall.perCpuSecond)} per CPU-second of the detector; redis ${e2eSmall.redisUs.toFixed(1)} µs CPU per fix`,
  ]);
  const e2eSingle = await streamRate(redis, server.url, small, uniquePrefix(), "grid", 1);
  rows.push([
    "from the stream, 100k users, one fix per entry (fixes/s)",
    fmt(e2eSingle.rate),
    "",
    `${fmt(e2eSingle.perCpuSecond)} per CPU-second of the detector; redis ${e2eSingle.redisUs.toFixed(1)} µs CPU per fix`,
  ]);
  const e2eLarge = await streamRate(redis, server.url, large, uniquePrefix(), "grid", MAX_ENTRY_FIXES);
  rows.push([
    `from the stream, 1M users, ${entries} (fixes/s)`,
    fmt(e2eLarge.rate),
    "",
    `${fmt(e2eLarge.perCpuSecond)} per CPU-second of the detector; redis ${e2eLarge.redisUs.toFixed(1)} µs CPU per fix`,
  ]);

  log("seed design");
  const seed = await seedRate(redis, small, uniquePrefix(), 5_000);
  rows.push([
    "seed design (SADD/SMEMBERS/HGETALL round trips), 100k users (fixes/s)",
    fmt(seed),
    ">= 50x slower",
    `stream detector is ${(e2eSmall.rate / seed).toFixed(0)}x (${(e2eSingle.rate / seed).toFixed(0)}x with one fix per entry)`,
  ]);

  rows.push([
    `second fix on the bus -> bump on the bus at ${fmt(lat.rate)} fixes/s, 100k users (ms)`,
    `p50 ${lat.p50}, p99 ${lat.p99}, max ${lat.max}`,
    "p99 <= 20",
    `${fmt(lat.samples)} bumps`,
  ]);

  // `--detector` runs the detector rows alone.
  const httpModule = process.argv.includes("--detector") ? "./none.ts" : "./http.ts";
  const http = (await import(httpModule).catch(() => undefined)) as
    | { benchHttp?: () => Promise<Row[] | undefined> }
    | undefined;
  if (http?.benchHttp) rows.push(...((await http.benchHttp()) ?? []));
} finally {
  redis.disconnect();
  await server.stop();
}

console.log("| measure | result | goal / peer | ratio |");
console.log("|---|---|---|---|");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
