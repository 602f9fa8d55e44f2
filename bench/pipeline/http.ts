/**
 * The HTTP part of the pipeline benchmark: sustained ingest through the real api process (JWT + validation + H3
 * + XADD, single and batch) beside a bare Bun.serve JSON endpoint in the same run and under the same load
 * generator, plus rows/s of the history writer into the system Postgres and into PGlite (at most 50,000 rows). Called by `bench/pipeline/main.ts`, or alone:
 *
 *   bun run bench:ingest [-- --seconds=5 --warmup=3 --concurrency=64 --rows=200000 --fsync=always --ingest-only
 *                            --compare=<checkout>]
 *
 * Every HTTP row (bare included) first sends the same load for `--warmup` seconds, unmeasured: the JIT of a fresh
 * process is still compiling the request path for about 3 s under this load, and a long-running server's
 * steady state is what the rows are meant to show. The bare and single-POST rows (of every api) are then measured
 * in turns of one second until each had `--seconds`, so a busy spell of the shared machine weighs on all of them.
 *
 * Each HTTP row also gives the server process's CPU per request (or per fix) over the measured window, from
 * /proc: less sensitive to other work on the machine than the rates (the api rows add the redis-server's); the bare and single rows also give the load
 * generator's own CPU per request (one fetch client, `--concurrency` keep-alive loops, the same bodies and headers
 * for both). `--compare` runs the same loads against the
 * api of another checkout (say, the previous commit's, with its own node_modules) in the same run.
 *
 * Redis is a dedicated redis-server with AOF `appendfsync always` (a 202 is on disk; `--fsync=everysec` to compare). Postgres is the system one
 * at `BENCH_DATABASE_URL` (default postgres://postgres@127.0.0.1:5432/test, a fresh database created and dropped),
 * falling back to embedded PGlite when it does not answer. Everything runs on 127.0.0.1.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createJwt } from "@bump/auth";
import type { LocationEvent } from "@bump/contracts";
import { createDb, migrate } from "@bump/db";
import { Registry, silentLogger } from "@bump/service";
import { createRedis, streamKeys, streamNames } from "@bump/streams";
import { createTestDatabase, freePort, spawnService, startRedisServer, uniquePrefix, waitFor } from "@bump/testing";
import { startHistoryWriter } from "../../services/worker/src/persistence/history-writer.ts";

/** One table row: measure, result, goal or peer, ratio. */
export type Row = [string, string, string, string];

const { values: args } = parseArgs({
  args: process.argv.slice(2),
  options: {
    seconds: { type: "string", default: "5" },
    warmup: { type: "string", default: "3" },
    concurrency: { type: "string", default: "64" },
    rows: { type: "string", default: "200000" },
    fsync: { type: "string", default: "always" },
    "ingest-only": { type: "boolean", default: false },
    compare: { type: "string" },
  },
  strict: false,
});
const SECONDS = Number(args.seconds);
/** Seconds of unmeasured load before each HTTP row's window (the same for the bare peer and the api). */
const WARMUP = Number(args.warmup);
const CONCURRENCY = Number(args.concurrency);
const ROWS = Number(args.rows);
/** AOF fsync policy of the ingest Redis: `always` (a 202 is on disk) or `everysec`. */
const FSYNC = String(args.fsync);
const SECRET = "bench-secret-bench-secret-bench-secret-0123";
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const log = (msg: string) => process.stderr.write(`${msg}\n`);

interface LoadResult {
  rate: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU of the server process per answered request, µs (NaN without /proc). */
  cpuUs: number;
  /** CPU of this process (the load generator, shared by every row) per answered request, µs. */
  clientUs: number;
  /** CPU of the redis-server behind the server per answered request, µs (NaN when it has none or no /proc). */
  redisUs: number;
}

/** User + system CPU of process `pid` so far, µs; NaN where /proc is missing. */
async function cpuOf(pid: number): Promise<number> {
  try {
    const stat = await Bun.file(`/proc/${pid}/stat`).text();
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of the file, in clock ticks (100 per second on Linux)
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return Number.NaN;
  }
}

/** The process id of the redis-server at `url`, from INFO; undefined when it does not say. */
async function processIdOf(url: string): Promise<number | undefined> {
  const client = createRedis(url);
  try {
    const pid = /process_id:(\d+)/.exec(await client.info("server"))?.[1];
    return pid === undefined ? undefined : Number(pid);
  } finally {
    client.disconnect();
  }
}

/** Calls per command of the redis-server at `url` so far (INFO commandstats), e.g. `{ xadd: 12, evalsha: 3 }`. */
async function commandCalls(url: string): Promise<Record<string, number>> {
  const client = createRedis(url);
  try {
    const calls: Record<string, number> = {};
    for (const m of (await client.info("commandstats")).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm))
      calls[m[1] as string] = Number(m[2]);
    return calls;
  } finally {
    client.disconnect();
  }
}

/** The commands the api sent while `requests` requests were answered, per request (from two commandstats reads). */
function callsPerRequest(before: Record<string, number>, after: Record<string, number>, requests: number): string {
  const parts: string[] = [];
  for (const [cmd, n] of Object.entries(after)) {
    const d = n - (before[cmd] ?? 0);
    if (d > 0 && cmd !== "info" && cmd !== "client|setname" && cmd !== "client|setinfo")
      parts.push(
        `${cmd} ${(d / requests).toFixed(4)} (${requests / d >= 10 ? (requests / d).toFixed(0) : (requests / d).toFixed(1)} requests per call)`,
      );
  }
  return parts.join(", ");
}

/** One HTTP load: where it goes, what it sends, and the processes whose CPU it is charged with. */
interface Target {
  url: string;
  bodies: string[];
  headers: Record<string, string>[];
  concurrency: number;
  pid: number;
  redisPid?: number;
  /** Requests answered 202 so far, warm-up included (the Redis command counts are divided by it). */
  answered?: number;
}

/** What the measured slices of one target add up to. */
interface Tally {
  ok: number;
  errors: number;
  ms: number;
  cpu: number;
  redis: number;
  client: number;
  latencies: number[];
}

/** Sends `target`'s requests from its `concurrency` loops for `ms`; adds what it saw to `tally` when given. */
async function slice(target: Target, ms: number, tally?: Tally): Promise<void> {
  const { url, bodies, headers, concurrency, pid, redisPid } = target;
  const cpuBefore = await cpuOf(pid);
  const redisBefore = redisPid === undefined ? Number.NaN : await cpuOf(redisPid);
  const clientBefore = process.cpuUsage();
  let ok = 0;
  let errors = 0;
  const end = performance.now() + ms;
  let i = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const n = i++;
        const started = performance.now();
        const res = await fetch(url, {
          method: "POST",
          headers: headers[n % headers.length],
          body: bodies[n % bodies.length],
        });
        await res.arrayBuffer();
        if (res.status === 202) {
          ok++;
          target.answered = (target.answered ?? 0) + 1;
        } else errors++;
        tally?.latencies.push(performance.now() - started);
      }
    }),
  );
  if (!tally) return;
  const client = process.cpuUsage(clientBefore);
  tally.ok += ok;
  tally.errors += errors;
  tally.ms += ms;
  tally.cpu += (await cpuOf(pid)) - cpuBefore;
  tally.redis += redisPid === undefined ? Number.NaN : (await cpuOf(redisPid)) - redisBefore;
  tally.client += client.user + client.system;
}

/**
 * Measures `targets` for `seconds` each, counting 202s only: each first warms up for {@link WARMUP} s, then they
 * take turns in one-second slices (bare, api, bare, api...), so that every target sees the same share of what
 * else the machine is doing: measured one after the other, a busy spell on this shared machine landed on one
 * row and not the other, and moved the api-to-bare ratio by 30% and more between runs.
 */
async function loadInTurns(targets: Target[], seconds: number): Promise<LoadResult[]> {
  for (const t of targets) if (WARMUP > 0) await slice(t, WARMUP * 1000);
  const tallies: Tally[] = targets.map(() => ({ ok: 0, errors: 0, ms: 0, cpu: 0, redis: 0, client: 0, latencies: [] }));
  const slices = Math.max(1, Math.round(seconds));
  for (let k = 0; k < slices; k++)
    for (const [j, t] of targets.entries()) await slice(t, (seconds * 1000) / slices, tallies[j]);
  return tallies.map((t) => {
    const per = Math.max(1, t.ok);
    t.latencies.sort((a, b) => a - b);
    const pct = (p: number) => t.latencies[Math.min(t.latencies.length - 1, Math.floor(t.latencies.length * p))] ?? 0;
    return {
      rate: t.ok / (t.ms / 1000),
      p50: pct(0.5),
      p99: pct(0.99),
      errors: t.errors,
      cpuUs: t.cpu / per,
      clientUs: t.client / per,
      redisUs: t.redis / per,
    };
  });
}

function fixBody(i: number): { latitude: number; longitude: number; accuracy: number } {
  return { latitude: 52.4 + (i % 1000) / 5000, longitude: 13.3 + (i % 997) / 5000, accuracy: 10 };
}

/** Starts an api process (the entry of this checkout, or of `checkout`) on its own port. */
async function startApi(redisUrl: string, dbUrl: string, checkout?: string) {
  const port = await freePort();
  const entry = checkout ? join(checkout, "services/api/src/main.ts") : "services/api/src/main.ts";
  const api = spawnService(entry, {
    PORT: String(port),
    REDIS_URL: redisUrl,
    DATABASE_URL: dbUrl,
    AUTH_SECRET: SECRET,
    LOG_LEVEL: "error",
    NODE_ENV: "production",
    INGEST_MAX_LEN: "300000",
  });
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/ready`)).ok, { timeoutMs: 60_000, what: "api" });
  return { api, url: `http://127.0.0.1:${port}` };
}

async function ingestRows(): Promise<Row[]> {
  const redis = await startRedisServer({ args: ["--appendfsync", FSYNC] });
  const db = await createTestDatabase();
  const barePort = await freePort();
  const bare = spawnService(join(import.meta.dir, "bare-server.ts"), {}, [String(barePort)]);
  const apis: Awaited<ReturnType<typeof startApi>>[] = [];
  try {
    apis.push(await startApi(redis.url, db.url));
    if (args.compare) apis.push(await startApi(redis.url, db.url, String(args.compare)));
    await waitFor(async () => (await fetch(`http://127.0.0.1:${barePort}/`, { method: "POST", body: "{}" })).ok, {
      what: "bare server",
    });
    const redisPid = await processIdOf(redis.url);
    const jwt = createJwt(SECRET);
    const tokens = await Promise.all(Array.from({ length: 1000 }, (_, i) => jwt.sign(`user-${i}`)));
    const headers = tokens.map((t) => ({ authorization: `Bearer ${t}`, "content-type": "application/json" }));
    const singles = Array.from({ length: 1000 }, (_, i) => JSON.stringify(fixBody(i)));
    const batches = Array.from({ length: 20 }, (_, b) =>
      JSON.stringify({ updates: Array.from({ length: 500 }, (_, i) => fixBody(b * 500 + i)) }),
    );
    const ms = (n: number) => n.toFixed(1);
    const cpu = (us: number, per: string) => (Number.isNaN(us) ? "" : `; ${us.toFixed(1)} µs CPU per ${per}`);
    const redisCpu = (us: number, per: string) =>
      Number.isNaN(us) ? "" : `; redis-server ${us.toFixed(1)} µs CPU per ${per}`;
    const client = (r: LoadResult) => `; load generator ${r.clientUs.toFixed(1)} µs CPU per request`;
    const bareTarget: Target = {
      url: `http://127.0.0.1:${barePort}/`,
      bodies: singles,
      headers,
      concurrency: CONCURRENCY,
      pid: bare.proc.pid,
    };
    const singleTargets = apis.map(
      ({ api, url }): Target => ({
        url: `${url}/v1/locations`,
        bodies: singles,
        headers,
        concurrency: CONCURRENCY,
        pid: api.proc.pid,
        redisPid,
      }),
    );
    log(`ingest: bare Bun.serve and single POSTs, in turns of 1 s (${WARMUP} s warm-up each)`);
    const callsBefore = await commandCalls(redis.url);
    const [peer, ...singleResults] = (await loadInTurns([bareTarget, ...singleTargets], SECONDS)) as [
      LoadResult,
      ...LoadResult[],
    ];
    const answered = singleTargets.reduce((sum, t) => sum + (t.answered ?? 0), 0);
    log(
      `ingest: Redis commands per single POST: ${callsPerRequest(callsBefore, await commandCalls(redis.url), answered)}`,
    );
    const rows: Row[] = [
      [
        "bare Bun.serve JSON endpoint (req/s)",
        fmt(peer.rate),
        "peer",
        `p50 ${ms(peer.p50)} ms, p99 ${ms(peer.p99)} ms${cpu(peer.cpuUs, "request")}${client(peer)}; bare and single rows: ${WARMUP} s warm-up each, then ${SECONDS} s each measured in turns of 1 s`,
      ],
    ];
    for (const [k, { api, url }] of apis.entries()) {
      const which = k === 0 ? "" : ` (${args.compare})`;
      const single = singleResults[k] as LoadResult;
      log(`ingest: batch POST${which}`);
      const [batch] = (await loadInTurns(
        [{ url: `${url}/v1/locations/batch`, bodies: batches, headers, concurrency: 8, pid: api.proc.pid, redisPid }],
        SECONDS,
      )) as [LoadResult];
      rows.push(
        [
          `POST /v1/locations${which}, JWT + check + H3 + XADD, AOF ${FSYNC} (req/s)`,
          fmt(single.rate),
          ">= 60% of bare",
          `${((100 * single.rate) / peer.rate).toFixed(0)}% of bare; p50 ${ms(single.p50)} ms, p99 ${ms(single.p99)} ms${cpu(single.cpuUs, "request")}${redisCpu(single.redisUs, "request")}${client(single)}${single.errors ? `; ${single.errors} errors` : ""}`,
        ],
        [
          `POST /v1/locations/batch${which}, 500 per request, AOF ${FSYNC} (fixes/s)`,
          fmt(batch.rate * 500),
          ">= 200,000",
          `${((batch.rate * 500) / 200_000).toFixed(2)}x goal; p99 ${ms(batch.p99)} ms per request${cpu(batch.cpuUs / 500, "fix")}${redisCpu(batch.redisUs / 500, "fix")}${batch.errors ? `; ${batch.errors} errors` : ""}`,
        ],
      );
    }
    return rows;
  } finally {
    for (const { api } of apis) await api.stop();
    await bare.stop();
    await redis.stop();
    await db.close();
  }
}

/** A fresh database on the system Postgres, or PGlite when it does not answer. */
async function benchDatabase(): Promise<{ url: string; label: string; close(): Promise<void> }> {
  const base = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  try {
    const admin = createDb(base, { max: 1 });
    const name = `bench_${uniquePrefix("rows").replace(/-/g, "_")}`;
    await admin.sql.unsafe(`CREATE DATABASE "${name}"`).finally(() => admin.close());
    const url = new URL(base);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      label: "Postgres 15",
      close: async () => {
        const a = createDb(base, { max: 1 });
        await a.sql.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).finally(() => a.close());
      },
    };
  } catch {
    const db = await createTestDatabase();
    return { ...db, label: "PGlite" };
  }
}

async function persistenceRows(
  database: { url: string; label: string; close(): Promise<void> },
  rows: number,
): Promise<Row[]> {
  const redisServer = await startRedisServer({ args: ["--appendfsync", "everysec"] });
  const redis = createRedis(redisServer.url);
  try {
    await migrate(database.url);
    const ns = uniquePrefix("rows");
    const keys = streamKeys(streamNames.locations, { ns });
    const now = Date.now();
    for (let i = 0; i < rows; i += 5000) {
      const pipe = redis.pipeline();
      for (let j = i; j < Math.min(rows, i + 5000); j++) {
        const e: LocationEvent = {
          id: crypto.randomUUID(),
          user_id: `user-${j % 100_000}`,
          ...fixBody(j),
          recorded_at: now + j,
          received_at: now + j,
          cell: "8a1f1d48945ffff",
        };
        pipe.xadd(keys.stream, "*", "d", JSON.stringify(e));
      }
      await pipe.exec();
    }
    const pool = createDb(database.url);
    const registry = new Registry();
    log(`persistence: ${fmt(rows)} rows into ${database.label}`);
    const started = performance.now();
    const writer = await startHistoryWriter({
      redis,
      db: pool.db,
      probe: () => pool.sql`select 1`,
      registry,
      logger: silentLogger,
      ns,
    });
    const written = registry.counter("persistence_rows_written_total", "", ["stream", "group"]);
    await waitFor(() => written.get(["locations", "history"]) >= rows, { timeoutMs: 170_000, intervalMs: 5 });
    const rate = rows / ((performance.now() - started) / 1000);
    await writer.close();
    await pool.close();
    return [
      [
        `history writer into ${database.label}, batches of 1000 (rows/s)`,
        fmt(rate),
        "one INSERT per batch (rows as one JSON parameter)",
        `${fmt(rows)} rows from the stream, idempotent on id`,
      ],
    ];
  } finally {
    redis.disconnect();
    await redisServer.stop();
    await database.close();
  }
}

/** Every HTTP and persistence row of the pipeline table. */
export async function benchHttp(): Promise<Row[]> {
  const rows = await ingestRows();
  if (args["ingest-only"]) return rows;
  rows.push(...(await persistenceRows(await benchDatabase(), ROWS)));
  const pglite = await createTestDatabase();
  rows.push(...(await persistenceRows({ ...pglite, label: "PGlite" }, Math.min(ROWS, 50_000))));
  return rows;
}

if (import.meta.main) {
  const rows = await benchHttp();
  console.log("| measure | result | goal / peer | ratio |");
  console.log("|---|---|---|---|");
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
}
