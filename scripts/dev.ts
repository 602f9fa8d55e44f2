/**
 * The development launcher behind `make dev`: starts what is missing (a redis-server with AOF under .data/redis
 * unless REDIS_URL is set; the embedded Postgres under .data/pglite unless DATABASE_URL is set), then every
 * service through `turbo run dev`, and prints the URLs once all are ready.
 */
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { startEmbeddedPostgres } from "@bump/db";

const root = resolve(import.meta.dir, "..");
const data = resolve(root, ".data");
mkdirSync(data, { recursive: true });
const env: Record<string, string | undefined> = { ...process.env, FORCE_COLOR: "1" };
const cleanups: (() => Promise<unknown> | unknown)[] = [];

async function listening(port: number): Promise<boolean> {
  try {
    const s = await Bun.connect({ hostname: "127.0.0.1", port, socket: { data() {}, error() {} } });
    s.end();
    return true;
  } catch {
    return false;
  }
}

if (!env.REDIS_URL) {
  const port = Number(env.DEV_REDIS_PORT ?? 6390);
  if (!(await listening(port))) {
    mkdirSync(resolve(data, "redis"), { recursive: true });
    const redis = Bun.spawn(
      [
        "redis-server",
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        resolve(data, "redis"),
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--save",
        "",
        // Redis 7.0 allocates a whole node for a new stream: 1 KiB instead of 4 KiB per user history.
        "--stream-node-max-bytes",
        "1024",
      ],
      { stdout: "ignore", stderr: "inherit" },
    );
    cleanups.push(() => redis.kill("SIGTERM"));
    for (let i = 0; i < 100 && !(await listening(port)); i++) await Bun.sleep(50);
  }
  env.REDIS_URL = `redis://127.0.0.1:${port}`;
}

if (!env.DATABASE_URL) {
  const port = Number(env.DEV_POSTGRES_PORT ?? 5433);
  const pg = await startEmbeddedPostgres({ dataDir: resolve(data, "pglite"), port });
  cleanups.push(() => pg.stop());
  env.DATABASE_URL = pg.url;
}

const turbo = Bun.spawn(["bunx", "turbo", "run", "dev", "--filter=./services/*", "--concurrency=10", "--ui=stream"], {
  cwd: root,
  env,
  stdout: "inherit",
  stderr: "inherit",
});

const services = [
  ["api", 3000],
  ["websocket", 3001],
  ["filter-processor", 3002],
  ["bump-detector", 3003],
  ["worker", 3004],
] as const;

const started = Date.now();
const ready = new Set<string>();
while (ready.size < services.length && Date.now() - started < 60_000) {
  for (const [name, port] of services) {
    if (ready.has(name)) continue;
    try {
      if ((await fetch(`http://127.0.0.1:${port}/ready`)).status === 200) ready.add(name);
    } catch {
      // not yet
    }
  }
  await Bun.sleep(250);
}
const banner = [
  "",
  `Bump Realtime is ${ready.size === services.length ? "ready" : "starting (not every service is ready yet)"} after ${((Date.now() - started) / 1000).toFixed(1)} s`,
  `  HTTP API          http://127.0.0.1:3000/v1   (OpenAPI: /openapi.json)`,
  `  WebSocket         ws://127.0.0.1:3001/ws?token=<token>`,
  ...services.map(([name, port]) => `  ${name.padEnd(18)}http://127.0.0.1:${port}/ready  /metrics`),
  `  Redis             ${env.REDIS_URL}`,
  `  Postgres          ${env.DATABASE_URL}`,
  "",
  "  A dev token:      bun run token alice            (admin: bun run token ops --role admin)",
  "",
];
console.log(banner.join("\n"));

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  turbo.kill("SIGTERM");
  await turbo.exited;
  for (const c of cleanups.reverse()) await c();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
await turbo.exited;
await stop();
