/**
 * End to end, change -> socket: entity changes XADDed to the `entities` stream at a fixed rate, one filter-processor
 * process delivering through `@bump/delivery`, one gateway process (services/websocket), and a client process
 * (e2e-client.ts) holding a socket for each of the first `sockets` users. Every `entity` frame a socket gets is
 * one sample: arrival - the change's `updated_at`, the time its send was scheduled (the producer paces an open loop:
 * a late send, or one held up by a stall, counts from when it was due). Stages, per sample: the XADD's
 * entry id (Redis clock) - `updated_at` = append; the `deliver:{gateway}` route entry's id - `updated_at` = routed
 * (read, matched, batching window, delivery flush); arrival - route entry = gateway and socket. The processor's own
 * stage histograms (`filter_stage_seconds`) split the middle part.
 *
 * `bun bench/filter/e2e.ts` runs it alone, in its own process (bench:filter does so after its in-process phases).
 * Env: BENCH_SECONDS (default 5), BENCH_E2E_VIEWPORTS (default 100000), BENCH_E2E_RATE (default 5000),
 * BENCH_E2E_SOCKETS (default 10000), BENCH_E2E_WARMUP (seconds at the same rate before the window, reported on their
 * own; default 1, 0 for none), FILTER_BATCH_MS (passed on to the processor when set), REDIS_URL (default a
 * redis-server of its own with AOF, BENCH_FSYNC `always` as deployed or `everysec`).
 */
import type { Viewport } from "@bump/contracts";
import { decodeRouted, deliveryKeys } from "@bump/delivery";
import { createRedis } from "@bump/streams";
import {
  createTestDatabase,
  freePort,
  type ServiceProcess,
  spawnService,
  startRedisServer,
  testRedisUrl,
  uniquePrefix,
  waitFor,
  waitForHttp,
} from "@bump/testing";
import type { FileSink } from "bun";
import { filterKeys } from "../../services/filter-processor/src/keys.ts";
import { change, cities, quantile, rng, viewports } from "./data.ts";

const SECRET = "bench-filter-secret-bench-filter-secret-0";
const GATEWAY = "gw-filter-bench";

/** p50 / p99 / max of one stage, ms. */
export interface Spread {
  p50: number;
  p99: number;
  max: number;
}

/** Results of one end-to-end run. */
export interface E2eResult {
  sent: number;
  perS: number;
  sockets: number;
  /** change -> socket. */
  total: Spread;
  samples: number;
  /** change -> socket over the warm-up before the window (not in the other figures). */
  warmup: { seconds: number; total: Spread; samples: number };
  /** Frames to sockets per second. */
  socketFramesPerS: number;
  /** Frames handed to delivery per second (every matched user, connected or not). */
  userFramesPerS: number;
  /** Per-stage spreads, ms: bench-side (append, routed, socket) and the processor's histograms. */
  stages: Record<string, Spread>;
  /** The slowest 1% of frames: median ms of each stage (append, appended -> routed, routed -> socket), send times. */
  slowest: { append: number; processor: number; gatewaySocket: number; sentAtS: number[] };
  /** CPU seconds per process over the measured window. */
  cpu: Record<string, number>;
  /**
   * Seconds the main thread of each process spent runnable but waiting for a core over the window
   * (`/proc/<pid>/schedstat`): the stalls the machine, not the code, put into every stage.
   */
  runQueueWait: Record<string, number>;
  /**
   * Redis's latency monitor over the window (events of 5 ms or more, e.g. `aof-fsync-always`): per event, the
   * worst ms and the seconds it was seen in. Empty when the server refused the monitor's commands.
   */
  redisStalls: Record<string, { maxMs: number; seconds: number }>;
  /**
   * Share of the window in which some runnable task of the machine waited for a core (Linux PSI, `cpu some`), the
   * noise other work adds to every stage; NaN where the kernel does not report it.
   */
  cpuPressure: number;
}

async function metricsText(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

/** The first sample of `series` (a name, or a name with labels) in a metrics text. */
function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

/**
 * Quantile `q` of a histogram's series (`labels` like `stage="read"`) between two scrapes, ms: linear within
 * the bucket that holds it.
 */
function histQuantile(before: string, after: string, name: string, labels: string, q: number): number {
  const read = (text: string) => {
    const out: [number, number][] = [];
    const prefix = `${name}_bucket{${labels},le="`;
    for (const l of text.split("\n")) {
      if (!l.startsWith(prefix)) continue;
      const le = l.slice(prefix.length, l.indexOf('"', prefix.length));
      out.push([le === "+Inf" ? Number.POSITIVE_INFINITY : Number(le), Number(l.slice(l.lastIndexOf(" ") + 1))]);
    }
    return out;
  };
  const a = read(before);
  const b = read(after);
  const counts = b.map(([le, n], i) => [le, n - (a[i]?.[1] ?? 0)] as [number, number]);
  const total = counts[counts.length - 1]?.[1] ?? 0;
  if (total === 0) return Number.NaN;
  const want = q * total;
  let lo = 0;
  let prev = 0;
  for (const [le, n] of counts) {
    if (n >= want) {
      if (!Number.isFinite(le)) return Number.POSITIVE_INFINITY;
      return (lo + ((want - prev) / Math.max(1, n - prev)) * (le - lo)) * 1000;
    }
    lo = le;
    prev = n;
  }
  return Number.NaN;
}

function spread(values: number[]): Spread {
  values.sort((a, b) => a - b);
  return { p50: quantile(values, 0.5), p99: quantile(values, 0.99), max: values[values.length - 1] ?? Number.NaN };
}

/** CPU seconds (user + system) a process used so far. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await Bun.file(`/proc/${pid}/stat`).text();
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Seconds the main thread of a process waited, runnable, for a core so far; NaN when not reported. */
async function runQueueSeconds(pid: number): Promise<number> {
  try {
    return Number((await Bun.file(`/proc/${pid}/schedstat`).text()).split(" ")[1]) / 1e9;
  } catch {
    return Number.NaN;
  }
}

/** Microseconds some task waited for a core so far (Linux PSI), NaN when not reported. */
async function cpuStallUs(): Promise<number> {
  try {
    const text = await Bun.file("/proc/pressure/cpu").text();
    return Number(/^some .*total=(\d+)/m.exec(text)?.[1] ?? Number.NaN);
  } catch {
    return Number.NaN;
  }
}

/** Reads a process's stdout line by line. */
function lines(proc: ReturnType<typeof Bun.spawn>): () => Promise<string> {
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  const dec = new TextDecoder();
  let buf = "";
  return async () => {
    for (;;) {
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        return line;
      }
      const r = await reader.read();
      if (r.done) throw new Error("client process ended");
      buf += dec.decode(r.value, { stream: true });
    }
  };
}

const idMs = (id: string) => Number(id.slice(0, id.indexOf("-")));

/** Runs `rate` changes/s for `seconds` against `boxes` viewports, with sockets for the first `sockets` users. */
export async function runE2e(
  redisUrl: string,
  boxes: readonly Viewport[],
  places: { lat: number; lng: number }[],
  rate: number,
  seconds: number,
  sockets: number,
  warmupS = 1,
): Promise<E2eResult> {
  const ns = uniquePrefix("bench-filter");
  const keys = filterKeys(ns);
  const route = deliveryKeys(ns).gateway(GATEWAY);
  const redis = createRedis(redisUrl);
  const reader = createRedis(redisUrl, "blocking");
  const database = await createTestDatabase();
  const procs: ServiceProcess[] = [];
  let client: ReturnType<typeof Bun.spawn> | undefined;
  const base = { REDIS_URL: redisUrl, BUS_NAMESPACE: ns, AUTH_SECRET: SECRET, LOG_LEVEL: "warn" };
  try {
    const gwPort = await freePort();
    const gw = spawnService("services/websocket/src/main.ts", {
      ...base,
      PORT: String(gwPort),
      GATEWAY_ID: GATEWAY,
      WS_BUMP_DELIVERY: "false",
    });
    procs.push(gw);
    await waitForHttp(`http://127.0.0.1:${gwPort}/ready`, 60_000);
    client = Bun.spawn(["bun", "bench/filter/e2e-client.ts"], {
      stdin: "pipe",
      stdout: "pipe",
      stderr: "inherit",
      env: { ...process.env, SECRET, URL: `ws://127.0.0.1:${gwPort}/ws`, FROM: "0", TO: String(sockets) },
    });
    const clientLine = lines(client);
    const opened = JSON.parse(await clientLine()) as { opened: number; failed: number };
    if (opened.opened < sockets) throw new Error(`only ${opened.opened} of ${sockets} sockets opened`);

    const now = Date.now();
    for (let i = 0; i < boxes.length; i += 5_000) {
      const pipe = redis.pipeline();
      boxes.slice(i, i + 5_000).forEach((viewport, j) => {
        const ev = { user_id: `u${i + j}`, session_id: "s", viewport, at: now };
        pipe.xadd(keys.viewports.stream, "*", "d", JSON.stringify(ev));
      });
      await pipe.exec();
    }
    const port = await freePort();
    const proc = spawnService("services/filter-processor/src/main.ts", {
      ...base,
      DATABASE_URL: database.url,
      PORT: String(port),
      FILTER_WRITE_ENTITIES: "false",
      ...(process.env.FILTER_BATCH_MS ? { FILTER_BATCH_MS: process.env.FILTER_BATCH_MS } : {}),
    });
    procs.push(proc);
    await waitForHttp(`http://127.0.0.1:${port}/ready`, 60_000);
    // Every viewport loaded and its first snapshot delivered, then a settle: the run starts on a quiet processor.
    await waitFor(async () => sample(await metricsText(port), 'filter_frames_total{type="entities"}') >= boxes.length, {
      timeoutMs: 120_000,
      what: "viewports loaded and snapshots delivered",
    });
    await Bun.sleep(1_000);
    Bun.gc(true);

    const appended = new Map<string, number>();
    const routed = new Map<string, number>();
    let reading = true;
    let last = (await redis.xrevrange(route, "+", "-", "COUNT", 1))[0]?.[0] ?? "0-0";
    const routeLoop = (async () => {
      while (reading) {
        const res = (await reader.xread("COUNT", 100, "BLOCK", 200, "STREAMS", route, last)) as
          | [string, [string, string[]][]][]
          | null;
        for (const [, entries] of res ?? []) {
          for (const [id, fields] of entries) {
            last = id;
            const at = idMs(id);
            for (const f of decodeRouted(fields)) {
              if (f.kind !== "volatile" || !f.text.startsWith('{"type":"entity",')) continue;
              const e = (JSON.parse(f.text) as { entity: { id: string; updated_at: string } }).entity;
              routed.set(`${f.user} ${e.id} ${Date.parse(e.updated_at)}`, at);
            }
          }
        }
      }
    })();
    // redis-server too: this run's own server, or the test server on this machine
    const redisPid = Number(/process_id:(\d+)/.exec(await redis.info("server"))?.[1]);
    const tickMs = 10;
    const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
    // Paced open loop: each tick's changes carry the tick's scheduled time as `updated_at` and are sent without
    // waiting for the last tick's replies, so a stall anywhere (Redis, this process) delays the sends it covers and
    // counts against them instead of holding the producer back (no coordinated omission).
    const pace = async (forS: number, r: () => number) => {
      const inFlight: Promise<void>[] = [];
      let sent = 0;
      const wall0 = Date.now();
      const t0 = performance.now();
      const end = t0 + forS * 1000;
      let next = t0;
      while (next < end) {
        const pipe = redis.pipeline();
        const at = Math.round(wall0 + (next - t0));
        const ids: string[] = [];
        for (let i = 0; i < perTick; i++) {
          const c = change(r, places, 50_000, at);
          ids.push(c.id);
          pipe.xadd(keys.entities.stream, "*", "d", JSON.stringify(c));
        }
        inFlight.push(
          pipe.exec().then((res) => {
            (res ?? []).forEach(([, id], i) => {
              const k = `${ids[i]} ${at}`;
              if (!appended.has(k)) appended.set(k, idMs(id as string));
            });
          }),
        );
        sent += perTick;
        next += tickMs;
        const wait = next - performance.now();
        if (wait > 0) await Bun.sleep(wait);
      }
      await Promise.all(inFlight);
      return { wall0, elapsed: performance.now() - t0, sent };
    };
    // Warm-up at the same rate before the window: the first changes after the idle load phase run code no process
    // has run yet (the entity path, volatile routing), which the window would otherwise mix into the steady state.
    // Its frames are reported on their own.
    if (warmupS > 0) {
      await pace(warmupS, rng(12));
      await Bun.sleep(500);
    }
    const pids: Record<string, number> = {
      "filter-processor": proc.proc.pid,
      gateway: gw.proc.pid,
      client: client.pid,
      ...(redisPid ? { "redis-server": redisPid } : {}),
    };
    const cpu0 = Object.fromEntries(
      await Promise.all(Object.entries(pids).map(async ([k, p]) => [k, await cpuSeconds(p)])),
    );
    const wait0 = Object.fromEntries(
      await Promise.all(Object.entries(pids).map(async ([k, p]) => [k, await runQueueSeconds(p)])),
    );
    const self0 = process.cpuUsage();
    const stall0 = await cpuStallUs();
    const stallT0 = performance.now();
    const before = await metricsText(port);
    const frames0 = sample(before, 'filter_frames_total{type="entity"}');

    // Redis's own record of its stalls (a slow fsync blocks every client) over the window, beside the stage figures.
    const monitor = await redis
      .call("CONFIG", "SET", "latency-monitor-threshold", "5")
      .then(() => redis.call("LATENCY", "RESET"))
      .then(
        () => true,
        () => false,
      );
    const { wall0, elapsed, sent } = await pace(seconds, rng(11));
    await Bun.sleep(1_000);
    const after = await metricsText(port);
    const redisStalls: E2eResult["redisStalls"] = {};
    if (monitor) {
      for (const [event] of (await redis.call("LATENCY", "LATEST")) as [string, number, number, number][]) {
        const history = (await redis.call("LATENCY", "HISTORY", event)) as [number, number][];
        redisStalls[event] = { maxMs: Math.max(...history.map(([, ms]) => ms)), seconds: history.length };
      }
      await redis.call("CONFIG", "SET", "latency-monitor-threshold", "0");
    }
    const cpu1 = Object.fromEntries(
      await Promise.all(Object.entries(pids).map(async ([k, p]) => [k, await cpuSeconds(p)])),
    );
    const wait1 = Object.fromEntries(
      await Promise.all(Object.entries(pids).map(async ([k, p]) => [k, await runQueueSeconds(p)])),
    );
    const self = process.cpuUsage(self0);
    const stalled = ((await cpuStallUs()) - stall0) / ((performance.now() - stallT0) * 1000);
    reading = false;
    await routeLoop;
    const stdin = client.stdin as FileSink;
    stdin.write("report\n");
    await stdin.flush();
    const { records } = JSON.parse(await clientLine()) as { records: [string, string, number, number][] };

    const total: number[] = [];
    const append: number[] = [];
    const toRoute: number[] = [];
    const gateway: number[] = [];
    // Per sample: total, append, appended -> routed, routed -> socket, seconds into the run.
    const traced: [number, number, number, number, number][] = [];
    const warm: number[] = [];
    for (const [user, id, updated, arrived] of records) {
      if (updated < wall0) {
        warm.push(arrived - updated);
        continue;
      }
      total.push(arrived - updated);
      const a = appended.get(`${id} ${updated}`);
      if (a !== undefined) append.push(a - updated);
      const ro = routed.get(`${user} ${id} ${updated}`);
      if (ro !== undefined) {
        toRoute.push(ro - updated);
        gateway.push(arrived - ro);
      }
      if (a !== undefined && ro !== undefined)
        traced.push([arrived - updated, a - updated, ro - a, arrived - ro, (updated - wall0) / 1000]);
    }
    // The slowest 1% of frames: which stage their time went to, and when they were sent.
    traced.sort((x, y) => y[0] - x[0]);
    const slow = traced.slice(0, Math.max(1, Math.ceil(traced.length / 100)));
    const median = (k: number) =>
      quantile(
        slow.map((t) => t[k] as number).sort((x, y) => x - y),
        0.5,
      );
    const hist = (stage: string): Spread => ({
      p50: histQuantile(before, after, "filter_stage_seconds", `stage="${stage}"`, 0.5),
      p99: histQuantile(before, after, "filter_stage_seconds", `stage="${stage}"`, 0.99),
      max: Number.NaN,
    });
    const cpu: Record<string, number> = {};
    const runQueueWait: Record<string, number> = {};
    for (const k of Object.keys(pids)) {
      cpu[k] = (cpu1[k] as number) - (cpu0[k] as number);
      runQueueWait[k] = (wait1[k] as number) - (wait0[k] as number);
    }
    cpu["bench (producer, route reader)"] = (self.user + self.system) / 1e6;
    return {
      sent,
      perS: (sent / elapsed) * 1000,
      sockets,
      total: spread(total),
      samples: total.length,
      warmup: { seconds: warmupS, total: spread(warm), samples: warm.length },
      socketFramesPerS: (total.length / elapsed) * 1000,
      userFramesPerS: ((sample(after, 'filter_frames_total{type="entity"}') - frames0) / elapsed) * 1000,
      stages: {
        "append (XADD entry id - scheduled send)": spread(append),
        "processor read (entry id -> handler), histogram": hist("read"),
        "batching window (queued -> flush), histogram": hist("window"),
        "delivery call (flush -> route entries written), histogram": hist("deliver"),
        "routed (route entry id - updated_at)": spread(toRoute),
        "gateway + socket (arrival - route entry id)": spread(gateway),
      },
      slowest: {
        append: median(1),
        processor: median(2),
        gatewaySocket: median(3),
        sentAtS: slow.map((t) => Math.round(t[4] * 10) / 10).sort((x, y) => x - y),
      },
      cpu,
      runQueueWait,
      redisStalls,
      cpuPressure: stalled,
    };
  } finally {
    client?.kill(9);
    // SIGTERM first (a process started with --cpu-prof writes its profile then), SIGKILL after 5 s.
    await Promise.all(
      procs.map(async (p) => {
        const t = setTimeout(() => void p.kill9().catch(() => {}), 5_000);
        await p.stop().catch(() => {});
        clearTimeout(t);
      }),
    );
    await redis.del(keys.viewports.stream, keys.entities.stream, route).catch(() => {});
    redis.disconnect();
    reader.disconnect();
    await database.close();
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (s: Spread) => `${fmt(s.p50)} / ${fmt(s.p99)}${Number.isNaN(s.max) ? "" : ` / ${fmt(s.max)}`}`;

/** The result as markdown tables. */
export function e2eTable(e: E2eResult, viewportCount: number): string {
  const out = [
    "| end to end, change -> socket (filter-processor, gateway, client processes) | result |",
    "|---|---|",
    `| viewports; sockets (users u0..) | ${fmt(viewportCount)}; ${fmt(e.sockets)} |`,
    `| changes sent, rate | ${fmt(e.sent)} at ${fmt(e.perS)}/s |`,
    `| change -> \`entity\` frame on the socket, p50 / p99 / max | ${ms(e.total)} ms (${fmt(e.samples)} frames) |`,
    `| warm-up before the window, ${e.warmup.seconds} s at the same rate (not in the other rows): p50 / p99 / max | ${
      e.warmup.samples ? `${ms(e.warmup.total)} ms (${fmt(e.warmup.samples)} frames)` : "-"
    } |`,
    `| frames to sockets/s; user-frames handed to delivery/s | ${fmt(e.socketFramesPerS)}; ${fmt(e.userFramesPerS)} |`,
    `| CPU seconds in the window | ${Object.entries(e.cpu)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(", ")} |`,
    `| main thread runnable but waiting for a core, s | ${Object.entries(e.runQueueWait)
      .map(([k, v]) => `${k} ${v.toFixed(2)}`)
      .join(", ")} |`,
    `| machine: share of the window some task waited for a core (PSI cpu some) | ${Number.isNaN(e.cpuPressure) ? "-" : `${Math.round(e.cpuPressure * 100)}%`} |`,
    `| Redis stalls in the window (latency monitor, >= 5 ms): worst ms, seconds seen | ${
      Object.entries(e.redisStalls)
        .map(([k, v]) => `${k} ${v.maxMs} ms, ${v.seconds} s`)
        .join("; ") || "none"
    } |`,
    "",
    "| stage (ms) | p50 / p99 / max |",
    "|---|---|",
  ];
  for (const [k, v] of Object.entries(e.stages)) out.push(`| ${k} | ${ms(v)} |`);
  const w = e.slowest;
  out.push(
    "",
    `Slowest 1% of frames, median ms: append ${fmt(w.append)}, appended -> routed ${fmt(w.processor)}, routed -> socket ${fmt(w.gatewaySocket)}; sent at s ${w.sentAtS.join(" ")}`,
  );
  return out.join("\n");
}

if (import.meta.main) {
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  const n = Number(process.env.BENCH_E2E_VIEWPORTS ?? 100_000);
  const rate = Number(process.env.BENCH_E2E_RATE ?? 5_000);
  const sockets = Number(process.env.BENCH_E2E_SOCKETS ?? 10_000);
  const warmup = Number(process.env.BENCH_E2E_WARMUP ?? 1);
  const places = cities(rng(1), 200);
  const boxes = viewports(rng(n), places, n);
  // Redis as deployed (docker-compose.yml: AOF, `appendfsync always`) unless REDIS_URL or BENCH_FSYNC says otherwise.
  const server = process.env.REDIS_URL
    ? undefined
    : await startRedisServer({ args: ["--appendfsync", process.env.BENCH_FSYNC ?? "always"] });
  const e = await runE2e(server?.url ?? (await testRedisUrl()), boxes, places, rate, seconds, sockets, warmup);
  await server?.stop();
  console.log(e2eTable(e, n));
  console.log(`\n<!-- ${JSON.stringify(e)} -->`);
  process.exit(0);
}
