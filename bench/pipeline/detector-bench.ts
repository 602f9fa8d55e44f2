import { join } from "node:path";
import { locationEntryPayload } from "@bump/contracts";
import { defaultBumpRules, type TraceFix } from "@bump/geo";
import type { RedisClient as Redis } from "@bump/streams";
import { compareIds, idTime } from "@bump/streams";
import { freePort, type ServiceProcess, spawnService } from "@bump/testing";
import { BumpDetector } from "../../services/bump-detector/src/detector.ts";
import { detectorKeys } from "../../services/bump-detector/src/keys.ts";
import { createProximityIndex, type ProximityKind } from "../../services/bump-detector/src/proximity.ts";
import { DETECTOR_GROUP } from "../../services/bump-detector/src/service.ts";
import type { Crowd } from "./population.ts";
import { SeedDesignDetector } from "./seed-design.ts";

const DETECTOR_ENTRY = join(import.meta.dir, "../../services/bump-detector/src/main.ts");

/** Fixes per second of the in-memory detector alone over the crowd's moves (population applied first). */
export function indexRate(kind: ProximityKind, c: Crowd): { rate: number; candidates: number } {
  const detector = new BumpDetector(createProximityIndex(kind, defaultBumpRules.radiusM), defaultBumpRules);
  for (let i = 0; i < c.firstMove; i++) detector.observe(c.fixes[i] as TraceFix, false);
  const started = performance.now();
  for (let i = c.firstMove; i < c.fixes.length; i++) detector.observe(c.fixes[i] as TraceFix);
  const seconds = (performance.now() - started) / 1000;
  return {
    rate: (c.fixes.length - c.firstMove) / seconds,
    candidates: detector.stats.candidates / (c.fixes.length - c.firstMove),
  };
}

/** Appends `fixes` in entries of `perEntry` fixes (1: single-fix entries; more: multi-fix entries as the api's). */
async function publish(redis: Redis, stream: string, fixes: readonly TraceFix[], perEntry = 1): Promise<void> {
  const step = 5_000 * perEntry;
  for (let i = 0; i < fixes.length; i += step) {
    const pipe = redis.pipeline();
    const end = Math.min(fixes.length, i + step);
    for (let j = i; j < end; j += perEntry) {
      const payloads = fixes.slice(j, Math.min(end, j + perEntry)).map((f) => JSON.stringify(f));
      pipe.xadd(stream, "*", "d", locationEntryPayload(payloads));
    }
    for (const [err] of (await pipe.exec()) ?? []) if (err) throw err;
  }
}

/** Throughput from the stream: wall-clock fixes/s, and CPU per fix of the detector's process and of Redis. */
export interface StreamRate {
  rate: number;
  /** Fixes per CPU-second of the detector's process. */
  perCpuSecond: number;
  /** CPU of redis-server per fix, µs (reads, acks, the bump script). */
  redisUs: number;
}

/** User + system CPU of process `pid` so far, µs, from /proc (clock ticks of 10 ms). */
async function cpuOf(pid: number): Promise<number> {
  const stat = await Bun.file(`/proc/${pid}/stat`).text();
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15 of the file
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** CPU redis-server used so far, µs. */
async function redisCpuOf(redis: Redis): Promise<number> {
  const info = await redis.info("cpu");
  const num = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? Number.NaN);
  return (num("used_cpu_user") + num("used_cpu_sys")) * 1e6;
}

/** Entries of `stream` the detector's group has read, and how many of them wait for their ack. */
async function groupProgress(redis: Redis, stream: string): Promise<{ read: number; pending: number }> {
  const groups = (await redis.call("XINFO", "GROUPS", stream).catch(() => [])) as unknown[][];
  for (const g of groups) {
    if (g[g.indexOf("name") + 1] !== DETECTOR_GROUP) continue;
    return { read: Number(g[g.indexOf("entries-read") + 1] ?? 0), pending: Number(g[g.indexOf("pending") + 1]) };
  }
  return { read: 0, pending: 0 };
}

/**
 * Waits until the detector's group has read `entries` entries (and, with `acked`, acked every one of them). Polls
 * every 10 ms: often enough for a run of seconds, seldom enough to leave the 2 cores to the detector and Redis.
 */
async function consumed(redis: Redis, stream: string, entries: number, acked: boolean): Promise<void> {
  for (;;) {
    const p = await groupProgress(redis, stream);
    if (p.read >= entries && (!acked || p.pending === 0)) return;
    await Bun.sleep(10);
  }
}

/**
 * Waits until the detector's group has handled and acked every entry up to `lastId` (entries after it may be in
 * hand): the clock of a timed run starts only once the fixes before it are done.
 */
async function handledThrough(redis: Redis, stream: string, lastId: string): Promise<void> {
  for (;;) {
    // no group yet: the detector is starting
    const [count, minId] = ((await redis.xpending(stream, DETECTOR_GROUP).catch(() => [0, null])) ?? [0, null]) as [
      number,
      string | null,
    ];
    if ((await groupProgress(redis, stream)).read > 0 && (count === 0 || (minId && compareIds(minId, lastId) > 0)))
      return;
    await Bun.sleep(10);
  }
}

/**
 * Starts the real bump-detector (`services/bump-detector/src/main.ts`) as its own process, as deployed: the bench's
 * trace (over a million fixes) stays out of its heap, and its CPU is its own.
 */
async function startDetector(redisUrl: string, ns: string, kind: ProximityKind) {
  const port = await freePort();
  return spawnService(DETECTOR_ENTRY, {
    REDIS_URL: redisUrl,
    BUS_NAMESPACE: ns,
    PORT: String(port),
    BUMP_INDEX: kind,
    LOG_LEVEL: "error",
  });
}

/** Stops a detector process; throws with its output when it had died. */
async function stopDetector(detector: ServiceProcess): Promise<void> {
  if (detector.proc.exitCode !== null) throw new Error(`bump-detector exited early:\n${detector.output()}`);
  await detector.stop();
}

/**
 * Fixes per second through the real service from the stream: the crowd's moves, after its population, in entries
 * of `perEntry` fixes (the api appends the fixes of a turn as entries of up to `MAX_ENTRY_FIXES`; under load they
 * are full). The detector runs as its own process with its default settings (it sizes its reads to about 2,000
 * fixes); the clock runs from its group's having acked the population's entries to its having acked the last move's.
 */
export async function streamRate(
  redis: Redis,
  redisUrl: string,
  c: Crowd,
  ns: string,
  kind: ProximityKind,
  perEntry: number,
): Promise<StreamRate> {
  const keys = detectorKeys({ ns });
  const stream = keys.locations.stream;
  await publish(redis, stream, c.fixes.slice(0, c.firstMove), perEntry);
  const [[populationEnd]] = (await redis.xrevrange(stream, "+", "-", "COUNT", 1)) as [[string, string[]]];
  await publish(redis, stream, c.fixes.slice(c.firstMove), perEntry);
  const entries = Math.ceil(c.firstMove / perEntry) + Math.ceil((c.fixes.length - c.firstMove) / perEntry);
  const detector = await startDetector(redisUrl, ns, kind);
  try {
    const pid = detector.proc.pid;
    await Promise.race([handledThrough(redis, stream, populationEnd), detector.proc.exited]);
    const from = performance.now();
    const [cpu0, redis0] = await Promise.all([cpuOf(pid), redisCpuOf(redis)]);
    await Promise.race([consumed(redis, stream, entries, true), detector.proc.exited]);
    const seconds = (performance.now() - from) / 1000;
    const [cpu1, redis1] = await Promise.all([cpuOf(pid), redisCpuOf(redis)]);
    const moves = c.fixes.length - c.firstMove;
    return { rate: moves / seconds, perCpuSecond: moves / ((cpu1 - cpu0) / 1e6), redisUs: (redis1 - redis0) / moves };
  } finally {
    await stopDetector(detector);
    await redis.del(keys.locations.stream, keys.bumps.stream);
  }
}

/** Fixes per second of the seed design over the crowd's moves, for at most `budgetMs`. */
export async function seedRate(redis: Redis, c: Crowd, ns: string, budgetMs: number): Promise<number> {
  const seed = new SeedDesignDetector(redis, `{${ns}:seed}`);
  await seed.preload(c.fixes.slice(0, c.firstMove));
  const started = performance.now();
  let n = 0;
  for (let i = c.firstMove; i < c.fixes.length && performance.now() - started < budgetMs; i++, n++) {
    await seed.observe(c.fixes[i] as TraceFix, defaultBumpRules.radiusM, defaultBumpRules.windowMs);
  }
  return n / ((performance.now() - started) / 1000);
}

/** Latency percentiles (ms) from the second fix entering the stream to its bump entering the bumps stream. */
export interface LatencyResult {
  samples: number;
  p50: number;
  p99: number;
  max: number;
  rate: number;
}

/**
 * Runs the service (its own process, as deployed) over a live crowd (its population applied first) and publishes
 * `seconds` of fixes at `perSecond` from this process, one in five placed 5 m from another user so that it bumps.
 * Latencies come from stream ids (the Redis clock, 1 ms resolution).
 */
export async function bumpLatency(
  redis: Redis,
  redisUrl: string,
  c: Crowd,
  ns: string,
  kind: ProximityKind,
  perSecond: number,
  seconds: number,
): Promise<LatencyResult> {
  const keys = detectorKeys({ ns });
  const population = c.fixes.slice(0, c.firstMove);
  const stream = keys.locations.stream;
  await publish(redis, stream, population);
  const detector = await startDetector(redisUrl, ns, kind);
  await Promise.race([consumed(redis, stream, population.length, true), detector.proc.exited]);
  const entryOf = new Map<string, string>();
  const tick = 10;
  const perTick = Math.round((perSecond * tick) / 1000);
  const moves = c.fixes.slice(c.firstMove);
  let m = 0;
  let n = 0;
  const started = performance.now();
  for (let t = 0; t < (seconds * 1000) / tick; t++) {
    const due = started + t * tick;
    const wait = due - performance.now();
    if (wait > 0) await Bun.sleep(wait);
    const now = Date.now();
    const batch: TraceFix[] = [];
    for (let k = 0; k < perTick; k++, n++) {
      const f = moves[m++ % moves.length] as TraceFix;
      const id = `${f.id.slice(0, 24)}${(0xf00000000000 + n).toString(16)}`;
      if (k % 5 === 0) {
        const other = population[(n * 7919) % population.length] as TraceFix;
        batch.push({
          ...other,
          id,
          user_id: `meet${n}`,
          latitude: other.latitude + 0.00004,
          recorded_at: now,
          received_at: now,
        });
      } else batch.push({ ...f, id, recorded_at: now, received_at: now });
    }
    const pipe = redis.pipeline();
    for (const f of batch) pipe.xadd(keys.locations.stream, "*", "d", JSON.stringify(f));
    const replies = (await pipe.exec()) ?? [];
    batch.forEach((f, i) => {
      entryOf.set(f.id, replies[i]?.[1] as string);
    });
  }
  const elapsed = (performance.now() - started) / 1000;
  await Promise.race([consumed(redis, stream, population.length + n, true), detector.proc.exited]);
  await stopDetector(detector);
  const latencies: number[] = [];
  const entries = (await redis.xrange(keys.bumps.stream, "-", "+")) as [string, string[]][];
  for (const [bumpEntry, fields] of entries) {
    const [a, b] = (JSON.parse(fields[1] ?? "{}").id as string).split(".");
    const ea = entryOf.get(a ?? "");
    const eb = entryOf.get(b ?? "");
    const second = Math.max(ea ? idTime(ea) : 0, eb ? idTime(eb) : 0);
    if (second > 0) latencies.push(idTime(bumpEntry) - second);
  }
  latencies.sort((x, y) => x - y);
  const pick = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? Number.NaN;
  await redis.del(keys.locations.stream, keys.bumps.stream);
  return {
    samples: latencies.length,
    p50: pick(0.5),
    p99: pick(0.99),
    max: latencies.at(-1) ?? Number.NaN,
    rate: n / elapsed,
  };
}
