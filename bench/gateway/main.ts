/**
 * Gateway benchmark, side by side in one run with the same raw WebSocket clients: the gateway (Redis history and
 * routing), raw Bun with no Redis writing the same frame stream (per-socket `send`, and `cork` per turn: the limit;
 * and, as another workload, a burst of 20 frames per socket), Socket.IO with the Redis Streams
 * adapter (a room per user) and the old design (one ioredis subscriber per user, PUBLISH per frame). Measures
 * connections and RSS per 1k, delivered distinct per-user frames/s to BENCH_CONNS connections, producer -> socket
 * p50/p99 at 20k frames/s and the cost of 1k stalled clients. Prints a markdown table. `bun run bench:gateway`
 * (BENCH_CONNS, BENCH_SECONDS, BENCH_SLOW, BENCH_ONLY=gateway,raw,socketio,legacy,rounds,
 * BENCH_GATEWAY=reliable,volatile,latency,slow picks the gateway runs; BENCH_PROFILE=<dir> writes the gateway's CPU
 * profile there; BENCH_ROUNDS, default 3, rounds of the gateway, the limit and Socket.IO one after the other at the
 * end, for ratios a drifting machine moves less).
 */
import { readFileSync } from "node:fs";
import { createJwt } from "@bump/auth";
import { Delivery, deliveryKeys, RedisPresence } from "@bump/delivery";
import { createRedis } from "@bump/streams";
import { freePort, spawnService, startRedisServer, waitFor, waitForHttp } from "@bump/testing";
import { createAdapter } from "@socket.io/redis-streams-adapter";
import { Server as SocketIoServer } from "socket.io";
import { type StalledSocket, stalledSocket } from "../../services/websocket/src/testing/stalled-socket.ts";
import { type ClientPool, openPool, quantile, rssKiB } from "./clients.ts";
import { spawnProfiled, startPeer } from "./peers.ts";

const CONNS = Number(process.env.BENCH_CONNS ?? 10_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const SLOW = Number(process.env.BENCH_SLOW ?? 1_000);
/** Producer loops, each waiting for its last chunk of 1k frames before the next. */
const LOOPS = Number(process.env.BENCH_LOOPS ?? 16);
const RATE = 20_000;
/**
 * Rounds of the three windows a ratio is made of (gateway reliable, the raw limit at the gateway's frames per write,
 * Socket.IO), one after the other, each round's ratios and their medians: a machine whose speed drifts between
 * the runs above, which are a minute or more apart, moves those ratios; it moves these much less.
 */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Old-design processes: each holds a socket and a Redis connection per user, within 20,000 open files. */
const LEGACY_PROCS = Math.max(1, Math.ceil(CONNS / 8_000));
const SECRET = "bench-secret-bench-secret-bench-secret-00";
const rows: [string, string, string][] = [];
const row = (what: string, value: string, note = "") => {
  rows.push([what, value, note]);
  console.error(`${what}: ${value} ${note}`);
};
/** Sends distinct frames to `users`; `n` makes them distinct; resolves when the producer may send more. */
type Send = (users: string[], n: number) => Promise<unknown>;

const redisSrv = await startRedisServer({ args: ["--appendonly", "no", "--maxclients", "19000"] });
const redis = createRedis(redisSrv.url);
const keys = deliveryKeys("bench");
const delivery = new Delivery({ redis, keys, presence: new RedisPresence({ redis, keys }) });
const users = Array.from({ length: CONNS }, (_, i) => `u${i}`);
const jwt = createJwt(SECRET);
const results: Record<string, number> = {};
/** Last CPU split of {@link throughput}: CPU ms per 10k delivered frames, by process. */
let lastCpu = "";
/** Delivered frames per CPU-second of every process involved, by run: the figure machine load disturbs least. */
const perCpu: Record<string, number> = {};
let lastPerCpu = 0;
/** CPU seconds per delivered frame of the server process alone (the gateway, or the raw server), by run. */
const serverCpu: Record<string, number> = {};
let lastServerCpu = 0;
/** Frames per socket write of the last raw stream run, and of the gateway's reliable run. */
let lastPerWrite = 0;
let gatewayPerWrite = 0;

const only = new Set((process.env.BENCH_ONLY ?? "gateway,raw,socketio,legacy").split(","));
const gatewayOnly = new Set((process.env.BENCH_GATEWAY ?? "reliable,volatile,latency,slow").split(","));
const redisPid = Number(/process_id:(\d+)/.exec(await redis.info("server"))?.[1] ?? 0);
try {
  if (only.has("gateway")) await gatewayRuns();
  if (only.has("raw")) await rawRuns();
  if (only.has("socketio")) await socketIoRuns();
  if (only.has("legacy")) await legacyRuns();
  if (only.has("rounds") || (ROUNDS > 0 && only.has("gateway") && only.has("raw") && only.has("socketio"))) {
    await alternatingRounds();
  }
} finally {
  redis.disconnect();
  await redisSrv.stop();
}

const eff = (k: string) =>
  perCpu[k]
    ? `${fmt(perCpu[k])} frames/CPU-s (${((perCpu.reliable ?? 0) / perCpu[k]).toFixed(2)}x for gateway reliable)`
    : "n/a";
row(
  "gateway reliable, delivered frames per CPU-second (all processes)",
  perCpu.reliable ? fmt(perCpu.reliable) : "n/a",
);
row("gateway volatile, per CPU-second", eff("volatile"));
row("raw Bun cork, the same frame stream, per CPU-second", eff("cork"));
row("Socket.IO, per CPU-second", eff("socketio"));
row("old design, per CPU-second", eff("legacy"));
// The server process alone, at the same frames per socket write: what a gateway costs on its own cores, with
// Redis, the producers and the clients elsewhere.
row(
  "gateway process alone vs raw Bun server, CPU per reliable frame, the same frame stream",
  serverCpu.cork && serverCpu.reliable ? `${(serverCpu.cork / serverCpu.reliable).toFixed(2)}x` : "n/a",
  serverCpu.cork && serverCpu.reliable
    ? `CPU ms per 10k frames: raw server ${(serverCpu.cork * 1e7).toFixed(0)}, gateway ${(serverCpu.reliable * 1e7).toFixed(0)}; ` +
        "Redis, producer and clients not counted"
    : "",
);
const vs = (k: string) => (results[k] ? `${((results.reliable ?? 0) / results[k]).toFixed(2)}x` : "n/a");
row("gateway reliable vs raw Bun cork, the same frame stream (goal >= 0.6x)", vs("cork"));
row("gateway reliable vs raw Bun, burst of 20 frames per socket in one cork", vs("burst"));
row("gateway reliable vs Socket.IO (goal >= 4x)", vs("socketio"));
row("gateway reliable vs old design", vs("legacy"));
console.log(`\n| measure (${CONNS} connections, ${SECONDS} s windows) | result | note |\n|---|---|---|`);
for (const [a, b, c] of rows) console.log(`| ${a} | ${b} | ${c} |`);
process.exit(0);

/** Spawns a gateway (profiled with BENCH_PROFILE) on a free port; ready once `/ready` answers. */
async function startGateway() {
  const port = await freePort();
  const profile = process.env.BENCH_PROFILE;
  const spawn = profile
    ? (entry: string, env: Record<string, string>) => spawnProfiled(entry, env, profile)
    : spawnService;
  const gw = spawn("services/websocket/src/main.ts", {
    REDIS_URL: redisSrv.url,
    BUS_NAMESPACE: "bench",
    PORT: String(port),
    GATEWAY_ID: "bench-gw",
    AUTH_SECRET: SECRET,
    LOG_LEVEL: "warn",
    WS_BUMP_DELIVERY: "false",
    WS_MAX_CONNECTIONS_PER_USER: "1000",
  });
  try {
    await waitForHttp(`http://127.0.0.1:${port}/ready`, 60_000);
  } catch (err) {
    await gw.kill9();
    throw err;
  }
  return { gw, port };
}

/** Every user gets a first reliable frame (which mints the user's epoch), as in steady state. */
async function warmHistories(pool: ClientPool): Promise<void> {
  for (let i = 0; i < CONNS; i += 1_000) {
    await delivery.deliver(users.slice(i, i + 1_000), { type: "job", job: { id: "warm" } }, { reliable: true });
  }
  await settle(pool);
}

async function gatewayRuns(): Promise<void> {
  const { gw, port } = await startGateway();
  try {
    const tokens = await Promise.all(users.map((u) => jwt.sign(u)));
    const rss0 = await rssKiB(gw.proc.pid);
    const [gwCpu0 = 0, redisCpu0 = 0] = cpuSeconds([gw.proc.pid, redisPid]);
    const t0 = performance.now();
    const pool = await openPool(gatewayUrls(port, tokens), { welcome: true });
    const openS = (performance.now() - t0) / 1000;
    const [gwCpu1 = 0, redisCpu1 = 0] = cpuSeconds([gw.proc.pid, redisPid]);
    const perK = (a: number, b: number) => (((b - a) * 1e6) / CONNS).toFixed(0);
    await Bun.sleep(500);
    const rss1 = await rssKiB(gw.proc.pid);
    row(
      "gateway: connections opened (one process)",
      fmt(CONNS),
      `in ${openS.toFixed(1)} s; CPU ms per 1k opens: gateway ${perK(gwCpu0, gwCpu1)}, redis ${perK(redisCpu0, redisCpu1)}`,
    );
    row("gateway: RSS per 1k connections", mib(rss1 - rss0), `idle RSS ${mib(rss0, false)}`);
    await warmHistories(pool);
    await redis.config("RESETSTAT");
    if (gatewayOnly.has("reliable")) {
      const { rate, perWrite } = await reliableWindow(pool, port, gw.proc.pid);
      results.reliable = rate;
      gatewayPerWrite = perWrite;
      perCpu.reliable = lastPerCpu;
      serverCpu.reliable = lastServerCpu;
      row(
        "gateway: reliable per-user frames/s",
        fmt(results.reliable),
        `history + route + ordered dispatch; ${fmt(await metric(port, "ws_history_reads_total"))} history reads; ` +
          `${fmt(pool.disordered)} out of order at the clients; ${perWrite.toFixed(1)} frames per socket write; CPU ms per 10k: ${lastCpu}`,
      );
      console.error(commandStats(await redis.info("commandstats")));
    }
    if (gatewayOnly.has("volatile")) {
      const volatile: Send = (us, n) => delivery.deliver(us, { type: "job", job: { id: `v${n}` } });
      results.volatile = await throughput(pool, volatile, { gateway: gw.proc.pid });
      perCpu.volatile = lastPerCpu;
      row(
        "gateway: volatile per-user frames/s",
        fmt(results.volatile),
        `presence lookup + route; CPU ms per 10k: ${lastCpu}`,
      );
    }
    if (gatewayOnly.has("latency")) {
      const lat = await latency(pool);
      row(
        `gateway: producer -> socket p50 / p99 at ${fmt(RATE)} reliable frames/s`,
        `${lat.p50} / ${lat.p99} ms`,
        lat.note,
      );
    }
    if (!gatewayOnly.has("slow")) {
      pool.close();
      return;
    }

    // 1k clients that stop reading while everyone gets frames: what the others still get, and what it costs.
    const slowTokens = await Promise.all(Array.from({ length: SLOW }, (_, i) => jwt.sign(`slow${i}`)));
    const stalled: StalledSocket[] = [];
    for (let i = 0; i < SLOW; i += 200) {
      stalled.push(...(await Promise.all(slowTokens.slice(i, i + 200).map((t) => stalledSocket(port, t)))));
    }
    // The stalled users get frames at the others' per-user rate (their share of each chunk), 4 KiB each.
    const slowUsers = Array.from({ length: SLOW }, (_, i) => `slow${i}`);
    const share = Math.max(1, Math.round((SLOW / CONNS) * 1_000));
    const pad = "x".repeat(4_096);
    const rssSlow0 = await rssKiB(gw.proc.pid);
    const withSlow: Send = (us, n) => {
      const start = (n * share) % SLOW;
      return Promise.all([
        delivery.deliver(us, { type: "job", job: { id: `s${n}` } }, { reliable: true }),
        delivery.deliver(
          slowUsers.slice(start, start + share),
          { type: "job", job: { id: `s${n}` }, pad },
          { reliable: true },
        ),
      ]);
    };
    const slowRate = await throughput(pool, withSlow, { gateway: gw.proc.pid });
    const rssSlow1 = await rssKiB(gw.proc.pid);
    const evicted = await metric(port, "ws_slow_consumers_evicted_total");
    const buffered = await metric(port, "ws_buffered_bytes");
    row(
      `gateway: reliable frames/s to the others while ${fmt(SLOW)} clients stall`,
      fmt(slowRate),
      `${pct(slowRate, results.reliable)} of the rate without them; stalled ones get 4 KiB frames at the same per-user rate; ` +
        `${fmt(evicted)} evicted with 4008; ${mib(buffered / 1024, false)} waiting in outboxes; RSS ${rssSlow1 >= rssSlow0 ? "+" : ""}${mib(rssSlow1 - rssSlow0, false)} ` +
        "(bound: 64 KiB high water + 1 MiB outbox per socket)",
    );
    for (const s of stalled) s.destroy();
    pool.close();
  } finally {
    await gw.kill9();
  }
}

async function rawRuns(): Promise<void> {
  const raw = await startPeer("bench/gateway/raw-server.ts", { PORT: "0" });
  try {
    const pool = await openPool(rawUrls(raw.port));
    results.streamSend = await rawStream(pool, raw, false, LOOPS);
    row(
      "raw Bun, the same frame stream, per-socket send (no Redis)",
      fmt(results.streamSend),
      `1k-user chunks in rotation, ${LOOPS} per turn, one frame per user each; ${lastPerWrite.toFixed(1)} frames per write; CPU ms per 10k: ${lastCpu}`,
    );
    // Corked per turn: with the producer's chunks in flight per turn, and with as many chunks per turn as give the
    // frames per socket write the gateway reached (its reads grow under load): the limit is the better of the two.
    const turns = [LOOPS];
    if (gatewayPerWrite > 0) turns.push(turnFor(gatewayPerWrite));
    for (const turn of turns) {
      const rate = await rawStream(pool, raw, true, turn);
      if (rate > (results.cork ?? 0)) {
        results.cork = rate;
        perCpu.cork = lastPerCpu;
        serverCpu.cork = lastServerCpu;
      }
      row(
        `raw Bun, the same frame stream, cork per turn of ${turn} chunks`,
        fmt(rate),
        `each socket's frames of a turn in one cork; ${lastPerWrite.toFixed(1)} frames per write; CPU ms per 10k: ${lastCpu}`,
      );
    }
    row("raw Bun, the same frame stream, cork (the limit: the better of the above)", fmt(results.cork ?? 0), "");
    results.send = await blast(pool, raw.port, false);
    results.burst = await blast(pool, raw.port, true);
    row("raw Bun, burst of 20 frames per socket, per-socket send", fmt(results.send), "");
    row(
      "raw Bun, burst of 20 frames per socket in one cork",
      fmt(results.burst),
      "another workload: each socket's 20 frames back to back, 20 per write",
    );
    pool.close();
  } finally {
    await raw.kill();
  }
}

/** A Socket.IO server with the Redis Streams adapter, and an emitter in this process sending to a room per user. */
async function startSocketIo() {
  const peer = await startPeer("bench/gateway/socketio-server.ts", { REDIS_URL: redisSrv.url, PORT: "0" });
  const pub = createRedis(redisSrv.url);
  const emitter = new SocketIoServer({ adapter: createAdapter(pub, { readCount: 1_000 }) });
  const send: Send = async (us, n) => {
    for (const u of us) emitter.to(u).emit("job", { type: "job", job: { id: `j${n}` } });
    await pub.ping();
  };
  return {
    peer,
    send,
    open: () =>
      openPool(
        users.map((u) => `ws://127.0.0.1:${peer.port}/socket.io/?EIO=4&transport=websocket&user=${u}`),
        { wire: "socketio" },
      ),
    async stop() {
      await Promise.resolve(emitter.of("/").adapter.close()).catch(() => {});
      pub.disconnect();
      await peer.kill();
    },
  };
}

function gatewayUrls(port: number, tokens: string[]): string[] {
  return tokens.map((t) => `ws://127.0.0.1:${port}/ws?token=${t}`);
}
function rawUrls(port: number): string[] {
  return users.map(() => `ws://127.0.0.1:${port}/ws`);
}
/** Chunks per turn that give the raw server `perWrite` frames per socket write (at least the producer's loops). */
function turnFor(perWrite: number): number {
  return Math.max(LOOPS, Math.round((perWrite * CONNS) / 1_000));
}

/** A window of reliable frames through the gateway on `port`: frames/s, and frames per socket write it reached. */
async function reliableWindow(pool: ClientPool, port: number, pid: number) {
  const reliable: Send = (us, n) => delivery.deliver(us, { type: "job", job: { id: `j${n}` } }, { reliable: true });
  const sent0 = await metric(port, "ws_frames_sent_total");
  const writes0 = await metric(port, "ws_socket_writes_total");
  const rate = await throughput(pool, reliable, { gateway: pid });
  const perWrite =
    ((await metric(port, "ws_frames_sent_total")) - sent0) /
    Math.max(1, (await metric(port, "ws_socket_writes_total")) - writes0);
  return { rate, perWrite };
}

async function socketIoRuns(): Promise<void> {
  const sio = await startSocketIo();
  const peer = sio.peer;
  try {
    const rss0 = await rssKiB(peer.pid);
    const pool = await sio.open();
    const rss1 = await rssKiB(peer.pid);
    row("Socket.IO: RSS per 1k connections", mib(rss1 - rss0), `idle RSS ${mib(rss0, false)}`);
    results.socketio = await throughput(pool, sio.send, { server: peer.pid });
    perCpu.socketio = lastPerCpu;
    row(
      "Socket.IO + redis-streams-adapter, room per user",
      fmt(results.socketio),
      `no history, no backpressure; CPU ms per 10k: ${lastCpu}`,
    );
    pool.close();
  } finally {
    await sio.stop();
  }
}

async function legacyRuns(): Promise<void> {
  const peers = await Promise.all(
    Array.from({ length: LEGACY_PROCS }, () =>
      startPeer("bench/gateway/legacy-server.ts", { REDIS_URL: redisSrv.url }),
    ),
  );
  const pub = createRedis(redisSrv.url);
  try {
    const rss0 = (await Promise.all(peers.map((p) => rssKiB(p.pid)))).reduce((a, b) => a + b, 0);
    const pool = await openPool(
      users.map((u, i) => `ws://127.0.0.1:${peers[i % peers.length]?.port}/?user=${u}`),
      { welcome: true, concurrency: 200 },
    );
    const rss1 = (await Promise.all(peers.map((p) => rssKiB(p.pid)))).reduce((a, b) => a + b, 0);
    row(
      "old design: RSS per 1k connections",
      mib(rss1 - rss0),
      `${LEGACY_PROCS} processes; a Redis connection per user`,
    );
    const send: Send = async (us, n) => {
      const pipe = pub.pipeline();
      for (const u of us) pipe.publish(`u:${u}`, JSON.stringify({ type: "job", job: { id: `j${n}` } }));
      await pipe.exec();
    };
    results.legacy = await throughput(pool, send, Object.fromEntries(peers.map((p, i) => [`server${i + 1}`, p.pid])));
    perCpu.legacy = lastPerCpu;
    row(
      "old design: subscriber per user, PUBLISH per frame",
      fmt(results.legacy),
      `loses frames while a link is down; CPU ms per 10k: ${lastCpu}`,
    );
    pool.close();
  } finally {
    pub.disconnect();
    await Promise.all(peers.map((p) => p.kill()));
  }
}

/**
 * {@link ROUNDS} rounds, each a window of gateway reliable frames, then of raw Bun writing the same frame stream
 * corked at the frames per write the gateway just reached (the limit), then of Socket.IO, every server kept up
 * and a pool of the same clients opened for each window in turn (10k sockets each: one pool open at a time keeps
 * this process under 20,000 open files).
 */
async function alternatingRounds(): Promise<void> {
  const { gw, port } = await startGateway();
  const raw = await startPeer("bench/gateway/raw-server.ts", { PORT: "0" });
  const sio = await startSocketIo();
  const tokens = await Promise.all(users.map((u) => jwt.sign(u)));
  const ratios = {
    limit: [] as number[],
    socketio: [] as number[],
    limitCpu: [] as number[],
    socketioCpu: [] as number[],
  };
  const closed = async (pool: ClientPool) => {
    pool.close();
    await Bun.sleep(1_000);
  };
  try {
    for (let r = 1; r <= ROUNDS; r++) {
      let pool = await openPool(gatewayUrls(port, tokens), { welcome: true });
      if (r === 1) await warmHistories(pool);
      const { rate: g, perWrite } = await reliableWindow(pool, port, gw.proc.pid);
      const gCpu = lastPerCpu;
      await closed(pool);
      pool = await openPool(rawUrls(raw.port));
      const limit = await rawStream(pool, raw, true, turnFor(perWrite));
      const limitCpu = lastPerCpu;
      const limitPerWrite = lastPerWrite;
      await closed(pool);
      pool = await sio.open();
      const s = await throughput(pool, sio.send, { server: sio.peer.pid });
      const sCpu = lastPerCpu;
      await closed(pool);
      ratios.limit.push(g / limit);
      ratios.socketio.push(g / s);
      ratios.limitCpu.push(gCpu / limitCpu);
      ratios.socketioCpu.push(gCpu / sCpu);
      row(
        `round ${r}: gateway reliable / raw limit / Socket.IO, frames/s`,
        `${fmt(g)} / ${fmt(limit)} / ${fmt(s)}`,
        `${(g / limit).toFixed(2)}x the limit (${perWrite.toFixed(1)} and ${limitPerWrite.toFixed(1)} frames per write), ` +
          `${(g / s).toFixed(2)}x Socket.IO; per CPU-second ${(gCpu / limitCpu).toFixed(2)}x and ${(gCpu / sCpu).toFixed(2)}x`,
      );
    }
    const med = (xs: number[]) => `${quantile(xs, 0.5).toFixed(2)}x`;
    row(
      `median of ${ROUNDS} rounds: gateway reliable vs the raw limit (goal >= 0.6x)`,
      med(ratios.limit),
      `per CPU-second ${med(ratios.limitCpu)}`,
    );
    row(
      `median of ${ROUNDS} rounds: gateway reliable vs Socket.IO (goal >= 4x)`,
      med(ratios.socketio),
      `per CPU-second ${med(ratios.socketioCpu)}`,
    );
  } finally {
    await Promise.all([gw.kill9(), raw.kill(), sio.stop()]);
  }
}

/** Redis time per command kind (from INFO commandstats), for the profile in the log. */
function commandStats(info: string): string {
  return info
    .split("\n")
    .flatMap((l) => {
      const m = /^cmdstat_(\w+):calls=(\d+),usec=(\d+)/.exec(l);
      return m ? [`${m[1]} ${m[2]} calls ${(Number(m[3]) / 1000).toFixed(0)} ms`] : [];
    })
    .join("; ");
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
function pct(a: number, b: number | undefined): string {
  return b ? `${Math.round((a / b) * 100)}%` : "n/a";
}
/** KiB as MiB per 1k connections (`perK`) or plain MiB. */
function mib(kib: number, perK = true): string {
  return perK
    ? `${(((kib / CONNS) * 1000) / 1024).toFixed(1)} MiB (${(kib / CONNS).toFixed(1)} KiB/conn)`
    : `${(kib / 1024).toFixed(0)} MiB`;
}
async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

/**
 * CPU seconds (user + system) used so far by each of `pids`. Read synchronously: an await here would let the event
 * loop first work off the clients' backlog, so the frames counted beside it and the clock would drift apart.
 */
function cpuSeconds(pids: number[]): number[] {
  return pids.map((pid) => {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
    return (Number(f[11]) + Number(f[12])) / 100;
  });
}

/**
 * Sends distinct frames to every user in 1k chunks from LOOPS loops for SECONDS; frames the pool got per second.
 * `pids` (server processes) are profiled by CPU time, with Redis and this process (producer and clients).
 */
async function throughput(pool: ClientPool, send: Send, pids: Record<string, number> = {}): Promise<number> {
  const procs = { ...pids, redis: redisPid, "bench (producer + clients)": process.pid };
  let running = true;
  let n = 0;
  const chunk = 1_000;
  const producer = async () => {
    while (running) {
      const start = (n++ * chunk) % CONNS;
      await send(users.slice(start, start + chunk), n);
    }
  };
  const loops = Array.from({ length: LOOPS }, producer);
  await Bun.sleep(500);
  const before = pool.received;
  const cpu0 = cpuSeconds(Object.values(procs));
  const t0 = performance.now();
  await Bun.sleep(SECONDS * 1000);
  const got = pool.received - before;
  const cpu1 = cpuSeconds(Object.values(procs));
  const elapsed = (performance.now() - t0) / 1000;
  running = false;
  await Promise.all(loops);
  await settle(pool);
  noteCpu(Object.keys(procs), cpu0, cpu1, got);
  return got / elapsed;
}

/**
 * Notes the CPU of one measured window, `names` being the processes whose CPU seconds `cpu0` and `cpu1` hold (the
 * server first): frames per CPU-second of all, CPU per frame of the server, and the CPU ms per 10k frames of each.
 */
function noteCpu(names: string[], cpu0: number[], cpu1: number[], got: number): void {
  const used = names.reduce((sum, _, i) => sum + ((cpu1[i] ?? 0) - (cpu0[i] ?? 0)), 0);
  lastPerCpu = used > 0 ? got / used : 0;
  lastServerCpu = ((cpu1[0] ?? 0) - (cpu0[0] ?? 0)) / Math.max(1, got);
  lastCpu = names
    .map((k, i) => `${k} ${((((cpu1[i] ?? 0) - (cpu0[i] ?? 0)) / Math.max(1, got)) * 1e7).toFixed(0)}`)
    .join(", ");
}

/** Waits until the pool has received nothing for 500 ms (backlogs of the last run drained). */
async function settle(pool: ClientPool): Promise<void> {
  let last = -1;
  for (let i = 0; i < 60 && pool.received !== last; i++) {
    last = pool.received;
    await Bun.sleep(500);
  }
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
    await Bun.sleep(Math.max(0, t0 + tick * 10 - performance.now()));
  }
  const rate = sent / ((performance.now() - t0) / 1000);
  await Promise.all(inflight);
  await waitFor(() => pool.received - before >= sent, { timeoutMs: 10_000 }).catch(() => {});
  pool.sampling = false;
  return {
    p50: quantile(pool.latencies, 0.5),
    p99: quantile(pool.latencies, 0.99),
    note: `${fmt(pool.latencies.length)} samples at ${fmt(rate)}/s offered, ${fmt(sent - (pool.received - before))} not received`,
  };
}

/**
 * The raw server writes the producer's frame stream for SECONDS (after 500 ms unmeasured), per-socket `send` or
 * corked per turn; frames the pool got per second, with the CPU split as {@link throughput} gives it.
 */
async function rawStream(
  pool: ClientPool,
  raw: { port: number; pid: number },
  cork: boolean,
  turn: number,
): Promise<number> {
  const procs = { "raw server": raw.pid, "bench (clients)": process.pid };
  const done = fetch(
    `http://127.0.0.1:${raw.port}/stream?ms=${SECONDS * 1000 + 1_000}&chunk=1000&turn=${turn}&cork=${cork ? 1 : 0}`,
    { method: "POST" },
  );
  await Bun.sleep(500);
  const before = pool.received;
  const cpu0 = cpuSeconds(Object.values(procs));
  const t0 = performance.now();
  await Bun.sleep(SECONDS * 1000);
  const got = pool.received - before;
  const cpu1 = cpuSeconds(Object.values(procs));
  const elapsed = (performance.now() - t0) / 1000;
  const { frames, writes } = (await (await done).json()) as { frames: number; writes: number };
  lastPerWrite = frames / Math.max(1, writes);
  await settle(pool);
  noteCpu(Object.keys(procs), cpu0, cpu1, got);
  return got / elapsed;
}

/** Raw server writes 20 frames to every socket; frames received per second. */
async function blast(pool: ClientPool, rawPort: number, cork: boolean): Promise<number> {
  const frames = 20;
  const before = pool.received;
  const t0 = performance.now();
  await fetch(`http://127.0.0.1:${rawPort}/blast?frames=${frames}&cork=${cork ? 1 : 0}`, { method: "POST" });
  await waitFor(() => pool.received - before >= frames * pool.size, { timeoutMs: 60_000, intervalMs: 5 });
  return (frames * pool.size) / ((performance.now() - t0) / 1000);
}
