/**
 * Gateway benchmark: connections and RSS per 1k, delivered per-user frames/s to N connections (reliable and
 * volatile), p50/p99 producer -> socket at a fixed rate, and the raw-Bun limit (no Redis; `send` and `cork`) with
 * the same clients. Prints a markdown table. `bun run bench:gateway` (BENCH_CONNS, default 10000).
 */
import { createJwt } from "@bump/auth";
import { Delivery, deliveryKeys, RedisPresence } from "@bump/delivery";
import { createRedis } from "@bump/streams";
import { freePort, spawnService, startRedisServer, waitFor, waitForHttp } from "@bump/testing";
import { type ClientPool, openPool, quantile, rssKiB } from "./clients.ts";

const CONNS = Number(process.env.BENCH_CONNS ?? 10_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const RATE = 20_000;
const SECRET = "bench-secret-bench-secret-bench-secret-00";
const rows: [string, string, string][] = [];
const row = (what: string, value: string, note = "") => {
  rows.push([what, value, note]);
  console.error(`${what}: ${value} ${note}`);
};

const redisSrv = await startRedisServer({ args: ["--appendonly", "no"] });
const redis = createRedis(redisSrv.url);
const keys = deliveryKeys("bench");
const delivery = new Delivery({ redis, keys, presence: new RedisPresence({ redis, keys }) });
const port = await freePort();
const gw = spawnService("services/websocket/src/main.ts", {
  REDIS_URL: redisSrv.url,
  BUS_NAMESPACE: "bench",
  PORT: String(port),
  GATEWAY_ID: "bench-gw",
  AUTH_SECRET: SECRET,
  LOG_LEVEL: "warn",
  WS_BUMP_DELIVERY: "false",
});
await waitForHttp(`http://127.0.0.1:${port}/ready`);
const users = Array.from({ length: CONNS }, (_, i) => `u${i}`);
const jwt = createJwt(SECRET);
const urls = await Promise.all(users.map(async (u) => `ws://127.0.0.1:${port}/ws?token=${await jwt.sign(u)}`));

try {
  const rss0 = await rssKiB(gw.proc.pid);
  const t0 = performance.now();
  const pool = await openPool(urls, { welcome: true });
  const openS = (performance.now() - t0) / 1000;
  await Bun.sleep(500);
  const rss1 = await rssKiB(gw.proc.pid);
  row("connections opened (one gateway process)", `${CONNS}`, `in ${openS.toFixed(1)} s`);
  row(
    "gateway RSS per 1k connections",
    `${((((rss1 - rss0) / CONNS) * 1000) / 1024).toFixed(1)} MiB`,
    `${((rss1 - rss0) / CONNS).toFixed(1)} KiB/conn; idle RSS ${(rss0 / 1024).toFixed(0)} MiB`,
  );

  const reliable = await throughput(pool, true);
  row("reliable per-user frames/s to all connections", fmt(reliable), "history append + route + ordered dispatch");
  const volatile = await throughput(pool, false);
  row("volatile per-user frames/s to all connections", fmt(volatile), "presence lookup + route");

  const lat = await latency(pool);
  row(
    `producer -> socket p50 / p99 at ${fmt(RATE)} reliable frames/s`,
    `${lat.p50} / ${lat.p99} ms`,
    `${fmt(lat.n)} samples, ${lat.lost} not received`,
  );
  pool.close();
  await Bun.sleep(1000);

  const raw = Bun.spawn(["bun", "bench/gateway/raw-server.ts"], { stdout: "pipe", env: { ...process.env, PORT: "0" } });
  const reader = (raw.stdout as ReadableStream<Uint8Array>).getReader();
  const rawPort = JSON.parse(new TextDecoder().decode((await reader.read()).value)).port as number;
  const rawPool = await openPool(users.map(() => `ws://127.0.0.1:${rawPort}/ws`));
  const perSend = await blast(rawPool, rawPort, false);
  const corked = await blast(rawPool, rawPort, true);
  row(
    "raw Bun, per-socket send (no Redis)",
    fmt(perSend),
    `gateway reliable = ${pct(reliable, perSend)}, volatile = ${pct(volatile, perSend)}`,
  );
  row(
    "raw Bun, cork batching (the limit)",
    fmt(corked),
    `gateway reliable = ${pct(reliable, corked)}, volatile = ${pct(volatile, corked)}`,
  );
  rawPool.close();
  raw.kill();
} finally {
  await gw.kill9();
  redis.disconnect();
  await redisSrv.stop();
}

console.log(`\n| measure (${CONNS} connections, ${SECONDS} s windows) | result | note |\n|---|---|---|`);
for (const [a, b, c] of rows) console.log(`| ${a} | ${b} | ${c} |`);
process.exit(0);

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
function pct(a: number, b: number): string {
  return `${Math.round((a / b) * 100)}%`;
}

/** Delivers distinct frames to every user in chunks, 4 flushes in flight, for SECONDS; frames received per second. */
async function throughput(pool: ClientPool, isReliable: boolean): Promise<number> {
  let running = true;
  let n = 0;
  const chunk = 1_000;
  const producer = async () => {
    while (running) {
      const start = (n++ * chunk) % CONNS;
      await delivery.deliver(
        users.slice(start, start + chunk),
        { type: "job", job: { id: `j${n}` } },
        { reliable: isReliable },
      );
    }
  };
  await Bun.sleep(200);
  const before = pool.received;
  const t0 = performance.now();
  const loops = Array.from({ length: 4 }, producer);
  await Bun.sleep(SECONDS * 1000);
  const got = pool.received - before;
  const elapsed = (performance.now() - t0) / 1000;
  running = false;
  await Promise.all(loops);
  await Bun.sleep(1500);
  return got / elapsed;
}

/** Reliable frames at RATE/s to rotating users for SECONDS; producer -> socket latency quantiles. */
async function latency(pool: ClientPool) {
  const perTick = RATE / 100;
  pool.latencies = [];
  pool.sampling = true;
  const before = pool.received;
  let sent = 0;
  const t0 = performance.now();
  let tick = 0;
  const inflight: Promise<unknown>[] = [];
  while (performance.now() - t0 < SECONDS * 1000) {
    const start = (tick * perTick) % CONNS;
    inflight.push(
      delivery.deliver(users.slice(start, start + perTick), `{"type":"job","job":{"id":"l"},"t":${Date.now()}}`, {
        reliable: true,
      }),
    );
    sent += perTick;
    tick++;
    const due = t0 + tick * 10;
    await Bun.sleep(Math.max(0, due - performance.now()));
  }
  await Promise.all(inflight);
  await waitFor(() => pool.received - before >= sent, { timeoutMs: 5_000 }).catch(() => {});
  pool.sampling = false;
  return {
    p50: quantile(pool.latencies, 0.5),
    p99: quantile(pool.latencies, 0.99),
    n: pool.latencies.length,
    lost: sent - (pool.received - before),
  };
}

/** Raw server writes 20 frames to every socket; frames received per second. */
async function blast(pool: ClientPool, rawPort: number, cork: boolean): Promise<number> {
  const frames = 20;
  const before = pool.received;
  const t0 = performance.now();
  await fetch(`http://127.0.0.1:${rawPort}/blast?frames=${frames}&cork=${cork ? 1 : 0}`, { method: "POST" });
  await waitFor(() => pool.received - before >= frames * pool.size, { timeoutMs: 30_000, intervalMs: 5 });
  return (frames * pool.size) / ((performance.now() - t0) / 1000);
}
