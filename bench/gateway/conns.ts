/**
 * Concurrent connections across gateway processes: BENCH_TOTAL (default 100,000) authenticated sockets over
 * BENCH_GATEWAYS gateway processes (default 6) from several client processes, each process under 20,000 open
 * files. Reports gateway RSS per connection. Prints a markdown table. `bun run bench:gateway:conns`.
 */
import { freePort, type ServiceProcess, spawnService, startRedisServer, waitForHttp } from "@bump/testing";
import { rssKiB } from "./clients.ts";

const TOTAL = Number(process.env.BENCH_TOTAL ?? 100_000);
const GATEWAYS = Number(process.env.BENCH_GATEWAYS ?? 6);
const PER_CLIENT = 16_000;
const SECRET = "bench-secret-bench-secret-bench-secret-00";

const redisSrv = await startRedisServer({ args: ["--appendonly", "no"] });
const gateways: { proc: ServiceProcess; url: string }[] = [];
const clients: ReturnType<typeof Bun.spawn>[] = [];
const rows: [string, string, string][] = [];
try {
  for (let g = 0; g < GATEWAYS; g++) {
    const port = await freePort();
    const proc = spawnService("services/websocket/src/main.ts", {
      REDIS_URL: redisSrv.url,
      BUS_NAMESPACE: "conns",
      PORT: String(port),
      GATEWAY_ID: `gw${g}`,
      AUTH_SECRET: SECRET,
      LOG_LEVEL: "warn",
      WS_BUMP_DELIVERY: "false",
    });
    gateways.push({ proc, url: `ws://127.0.0.1:${port}/ws` });
    await waitForHttp(`http://127.0.0.1:${port}/ready`, 60_000);
  }
  const rss = async () => (await Promise.all(gateways.map((g) => rssKiB(g.proc.proc.pid)))).reduce((a, b) => a + b, 0);
  const idle = await rss();
  const t0 = performance.now();
  const reports: Promise<{ opened: number; failed: number; codes: Record<string, number> }>[] = [];
  for (let from = 0; from < TOTAL; from += PER_CLIENT) {
    const c = Bun.spawn(["bun", "bench/gateway/conn-client.ts"], {
      stdout: "pipe",
      stderr: "inherit",
      env: {
        ...process.env,
        SECRET,
        URLS: gateways.map((g) => g.url).join(","),
        FROM: String(from),
        TO: String(Math.min(TOTAL, from + PER_CLIENT)),
      },
    });
    clients.push(c);
    const reader = (c.stdout as ReadableStream<Uint8Array>).getReader();
    reports.push(reader.read().then((r) => JSON.parse(new TextDecoder().decode(r.value))));
  }
  const done = await Promise.all(reports);
  const secs = (performance.now() - t0) / 1000;
  await Bun.sleep(2_000);
  const opened = done.reduce((n, r) => n + r.opened, 0);
  const failed = done.reduce((n, r) => n + r.failed, 0);
  const codes: Record<string, number> = {};
  for (const r of done) for (const [c, n] of Object.entries(r.codes)) codes[c] = (codes[c] ?? 0) + n;
  const used = (await rss()) - idle;
  rows.push(
    [
      `authenticated sockets open across ${GATEWAYS} gateway processes`,
      opened.toLocaleString("en-US"),
      `${failed} failed (close codes ${JSON.stringify(codes)}); opened in ${secs.toFixed(0)} s from ${clients.length} client processes`,
    ],
    [
      "gateway RSS per connection",
      `${(used / Math.max(1, opened)).toFixed(1)} KiB`,
      `${(used / 1024).toFixed(0)} MiB over idle (${(idle / 1024).toFixed(0)} MiB for ${GATEWAYS} idle processes); goal <= 10 KB`,
    ],
  );
} finally {
  for (const c of clients) c.kill(9);
  await Promise.all(gateways.map((g) => g.proc.kill9()));
  await redisSrv.stop();
}
console.log("\n| measure | result | note |\n|---|---|---|");
for (const [a, b, c] of rows) console.log(`| ${a} | ${b} | ${c} |`);
process.exit(0);
