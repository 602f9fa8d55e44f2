/**
 * Job engine benchmark: @bump/jobs against BullMQ, side by side in one run on one dedicated redis-server
 * (no persistence, so the disk is not what is measured), same concurrency, same retry policy (3 attempts, fixed
 * 10 ms backoff) and same retention (1,000 completed jobs kept). Prints a markdown table.
 *
 *   bun run bench:jobs            (JOBS_BENCH_SCALE=0.5 halves every job count)
 *
 * While iterating: JOBS_BENCH_ONLY=<part of a scenario name> runs the matching scenarios only, and
 * JOBS_BENCH_SIDE=bump (or bullmq) runs one side only (e.g. under `bun --cpu-prof`); JOBS_BENCH_STATS=1 prints
 * Redis commands per job of each run (commands scripts call included) and the microseconds they took to stderr.
 */
import { defineQueue, Queue, QueueWorker } from "@bump/jobs";
import { createRedis, type RedisClient as Redis } from "@bump/streams";
import { startRedisServer } from "@bump/testing";
import { Queue as BullQueue, Worker as BullWorker } from "bullmq";
import { z } from "zod";

const scale = Number(process.env.JOBS_BENCH_SCALE ?? 1);
const n = (x: number) => Math.max(100, Math.round(x * scale));
const KEEP = 1_000;

const server = await startRedisServer({ args: ["--appendonly", "no"] });
const port = server.port;
const redis = createRedis(server.url);
const connection = { host: "127.0.0.1", port, maxRetriesPerRequest: null };

interface Scenario {
  name: string;
  jobs: number;
  concurrency: number;
  failEvery?: number;
  /** @bump/jobs read-ahead per reader (BullMQ has no such setting). */
  prefetch?: number;
  /** Report memory after the run. */
  memory?: boolean;
}

interface Outcome {
  addPerS: number;
  runPerS: number;
  /** CPU per job while running: redis-server's and the bench process's, microseconds. */
  redisUs: number;
  clientUs: number;
  memBytes?: number;
  keys?: number;
}

async function usedMemory(): Promise<number> {
  const info = await redis.info("memory");
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

async function redisCpu(): Promise<number> {
  const info = await redis.info("cpu");
  const get = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return get("used_cpu_sys") + get("used_cpu_user");
}

/** Prints the commands redis-server ran per job since the last reset, most frequent first. */
async function commandStats(label: string, jobs: number): Promise<void> {
  const info = await redis.info("commandstats");
  const rows = [...info.matchAll(/cmdstat_([^:]+):calls=(\d+),usec=(\d+)/g)]
    .map(([, cmd, calls, usec]) => [cmd, Number(calls) / jobs, Number(usec) / jobs] as const)
    .filter(([, perJob]) => perJob >= 0.01)
    .sort((a, b) => b[1] - a[1]);
  const list = rows.map(([c, v, us]) => `${c} ${v.toFixed(2)} (${us.toFixed(1)} µs)`).join(", ");
  console.error(`${label}: ${list} per job`);
}

/** Starts the CPU clocks; the returned function gives microseconds per job of redis-server and this process. */
async function cpuClock(jobs: number): Promise<() => Promise<{ redisUs: number; clientUs: number }>> {
  const r0 = await redisCpu();
  const c0 = process.cpuUsage();
  if (process.env.JOBS_BENCH_STATS) await redis.config("RESETSTAT");
  return async () => {
    const c = process.cpuUsage(c0);
    if (process.env.JOBS_BENCH_STATS) {
      await commandStats("commands", jobs);
      console.error(`client µs/job: user ${(c.user / jobs).toFixed(1)}, system ${(c.system / jobs).toFixed(1)}`);
    }
    return { redisUs: (((await redisCpu()) - r0) * 1e6) / jobs, clientUs: (c.user + c.system) / jobs };
  };
}

async function addAll(count: number, add: (i: number) => Promise<unknown>): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < count; i += 1_000) {
    const batch: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(count, i + 1_000); j++) batch.push(add(j));
    await Promise.all(batch);
  }
  return count / ((performance.now() - t) / 1000);
}

async function waitUntil(probe: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error("benchmark run timed out");
    await Bun.sleep(5);
  }
}

/** Adds every job first (add rate), then starts the worker and times until every job has finished. */
async function runBump(s: Scenario): Promise<Outcome> {
  await redis.flushall();
  const base = await usedMemory();
  const tried = new Set<number>();
  let done = 0;
  const def = defineQueue({
    name: "bench",
    schema: z.object({ i: z.number() }),
    concurrency: s.concurrency,
    attempts: 3,
    backoff: { type: "fixed", delayMs: 10, jitter: 0 },
    retention: { completed: { count: KEEP, ageMs: 3_600_000 }, failed: { count: KEEP, ageMs: 3_600_000 } },
    handler: async (job) => {
      if (s.failEvery && job.data.i % s.failEvery === 0 && !tried.has(job.data.i)) {
        tried.add(job.data.i);
        throw new Error("flaky");
      }
      done++;
      return null;
    },
  });
  const queue = new Queue(redis, def);
  const addPerS = await addAll(s.jobs, (i) => queue.add({ i }));
  const worker = new QueueWorker(redis as Redis, def, { trimIntervalMs: 1_000, prefetch: s.prefetch ?? 0 });
  const cpu = await cpuClock(s.jobs);
  const t = performance.now();
  await worker.start();
  await waitUntil(() => done >= s.jobs);
  await waitUntil(async () => {
    const c = await queue.counts();
    return c.active === 0 && c.waiting === 0 && c.delayed === 0;
  });
  const runPerS = s.jobs / ((performance.now() - t) / 1000);
  const used = await cpu();
  let memBytes: number | undefined;
  let keys: number | undefined;
  if (s.memory) {
    await waitUntil(async () => (await redis.xlen(queue.keys.streams.normal.stream)) < KEEP, 15_000).catch(() => {});
    memBytes = (await usedMemory()) - base;
    keys = await redis.dbsize();
  }
  await worker.close();
  return { addPerS, runPerS, ...used, memBytes, keys };
}

async function runBull(s: Scenario): Promise<Outcome> {
  await redis.flushall();
  const base = await usedMemory();
  const tried = new Set<number>();
  let done = 0;
  const queue = new BullQueue("bench", { connection });
  const opts = {
    attempts: 3,
    backoff: { type: "fixed" as const, delay: 10 },
    removeOnComplete: { count: KEEP },
    removeOnFail: { count: KEEP },
  };
  const addPerS = await addAll(s.jobs, (i) => queue.add("j", { i }, opts));
  const cpu = await cpuClock(s.jobs);
  const t = performance.now();
  const worker = new BullWorker(
    "bench",
    async (job) => {
      const i = (job.data as { i: number }).i;
      if (s.failEvery && i % s.failEvery === 0 && !tried.has(i)) {
        tried.add(i);
        throw new Error("flaky");
      }
      return null;
    },
    { connection, concurrency: s.concurrency },
  );
  worker.on("completed", () => {
    done++;
  });
  await waitUntil(() => done >= s.jobs);
  const runPerS = s.jobs / ((performance.now() - t) / 1000);
  const used = await cpu();
  let memBytes: number | undefined;
  let keys: number | undefined;
  if (s.memory) {
    memBytes = (await usedMemory()) - base;
    keys = await redis.dbsize();
  }
  await worker.close();
  await queue.close();
  return { addPerS, runPerS, ...used, memBytes, keys };
}

const scenarios: Scenario[] = [
  { name: "no-op, concurrency 1", jobs: n(5_000), concurrency: 1 },
  { name: "no-op, concurrency 1, read-ahead 10 (ours)", jobs: n(5_000), concurrency: 1, prefetch: 10 },
  { name: "no-op, concurrency 50", jobs: n(30_000), concurrency: 50 },
  { name: "10% fail once then retried, concurrency 50", jobs: n(20_000), concurrency: 50, failEvery: 10 },
  { name: "100k no-op, concurrency 50 (memory)", jobs: n(100_000), concurrency: 50, memory: true },
];

const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
const mib = (b?: number) => (b === undefined ? "-" : `${(b / 1024 / 1024).toFixed(1)} MiB`);
const rows: string[] = [];
const started = Date.now();
const only = process.env.JOBS_BENCH_ONLY;
const side = process.env.JOBS_BENCH_SIDE;
const skipped: Outcome = { addPerS: Number.NaN, runPerS: Number.NaN, redisUs: Number.NaN, clientUs: Number.NaN };
for (const s of scenarios) {
  if (only && !s.name.includes(only)) continue;
  const bull = side === "bump" ? skipped : await runBull(s);
  const bump = side === "bullmq" ? skipped : await runBump(s);
  const cpu = (o: Outcome) => `${o.redisUs.toFixed(0)} + ${o.clientUs.toFixed(0)}`;
  rows.push(
    `| ${s.name} | ${fmt(s.jobs)} | ${fmt(bump.runPerS)} | ${fmt(bull.runPerS)} | ${(bump.runPerS / bull.runPerS).toFixed(2)}x | ${cpu(bump)} | ${cpu(bull)} | ${fmt(bump.addPerS)} | ${fmt(bull.addPerS)} |`,
  );
  if (s.memory) {
    rows.push(
      `| memory after ${fmt(s.jobs)} completed (keep ${fmt(KEEP)}) | | ${mib(bump.memBytes)}, ${bump.keys} keys | ${mib(bull.memBytes)}, ${bull.keys} keys | | | | | |`,
    );
  }
  console.error(`done: ${s.name}`);
}
console.log(
  "| scenario | jobs | @bump/jobs jobs/s | BullMQ jobs/s | ratio | @bump/jobs CPU µs/job (redis + client) | BullMQ CPU µs/job (redis + client) | @bump/jobs adds/s | BullMQ adds/s |",
);
console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const r of rows) console.log(r);
console.log(`\nwall time ${((Date.now() - started) / 1000).toFixed(0)} s, scale ${scale}`);
redis.disconnect();
await server.stop();
process.exit(0);
