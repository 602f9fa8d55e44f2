import { locationEntryPayload } from "@bump/contracts";
import { defaultBumpRules, type TraceFix } from "@bump/geo";
import type { RedisClient as Redis } from "@bump/streams";
import { idTime } from "@bump/streams";
import { BumpDetector } from "../../services/bump-detector/src/detector.ts";
import { detectorKeys } from "../../services/bump-detector/src/keys.ts";
import { createProximityIndex, type ProximityKind } from "../../services/bump-detector/src/proximity.ts";
import { BumpDetectorService } from "../../services/bump-detector/src/service.ts";
import type { Crowd } from "./population.ts";
import { SeedDesignDetector } from "./seed-design.ts";

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

/** Throughput from the stream: wall-clock fixes/s, and fixes per CPU-second of this process (the detector's). */
export interface StreamRate {
  rate: number;
  perCpuSecond: number;
}

/**
 * Fixes per second through the real service from the stream: the crowd's moves, after its population, in entries
 * of `perEntry` fixes (the api appends the fixes of a turn as entries of up to `MAX_ENTRY_FIXES`; under load they
 * are full), read `fixesPerRead` fixes at a time.
 */
export async function streamRate(
  redis: Redis,
  c: Crowd,
  ns: string,
  kind: ProximityKind,
  perEntry: number,
  fixesPerRead = 2_000,
): Promise<StreamRate> {
  const keys = detectorKeys({ ns });
  await publish(redis, keys.locations.stream, c.fixes, perEntry);
  const batchSize = Math.max(1, Math.round(fixesPerRead / perEntry));
  const svc = new BumpDetectorService({ redis, keys, rules: defaultBumpRules, index: kind, batchSize });
  await svc.start();
  let from = 0;
  let cpu = process.cpuUsage();
  for (;;) {
    const n = svc.detector.stats.fixes;
    if (!from && n >= c.firstMove) {
      from = performance.now();
      cpu = process.cpuUsage();
    }
    if (n >= c.fixes.length) break;
    await Bun.sleep(2);
  }
  const seconds = (performance.now() - from) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  await svc.close();
  await redis.del(keys.locations.stream, keys.bumps.stream);
  const moves = c.fixes.length - c.firstMove;
  return { rate: moves / seconds, perCpuSecond: moves / cpuSeconds };
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
 * Runs the service over a live crowd (its population applied first) and publishes `seconds` of fixes at
 * `perSecond`, one in five placed 5 m from another user so that it bumps. Latencies come from stream ids (the
 * Redis clock, 1 ms resolution).
 */
export async function bumpLatency(
  redis: Redis,
  c: Crowd,
  ns: string,
  kind: ProximityKind,
  perSecond: number,
  seconds: number,
): Promise<LatencyResult> {
  const keys = detectorKeys({ ns });
  const population = c.fixes.slice(0, c.firstMove);
  await publish(redis, keys.locations.stream, population);
  const svc = new BumpDetectorService({ redis, keys, rules: defaultBumpRules, index: kind, blockMs: 1_000 });
  await svc.start();
  while (svc.detector.stats.fixes < population.length) await Bun.sleep(5);
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
  while (svc.detector.stats.fixes < population.length + n) await Bun.sleep(5);
  await svc.close();
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
