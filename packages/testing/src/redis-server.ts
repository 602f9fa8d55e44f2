import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort, waitFor } from "./ports.ts";
import { spawnWatched } from "./watchdog.ts";

/** A throwaway redis-server with AOF (appendfsync always) in a temporary directory. */
export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Kills the server with SIGKILL (no shutdown save): only what AOF wrote survives. */
  kill9(): Promise<void>;
  /** Starts the server again on the same port and directory, replaying its AOF. */
  restart(): Promise<void>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/** Extra `redis-server` arguments, e.g. `["--requirepass", "x"]`. */
export interface RedisServerOptions {
  args?: string[];
  port?: number;
}

async function ping(port: number): Promise<boolean> {
  try {
    const sock = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: { data() {}, error() {} },
    });
    sock.end();
    return true;
  } catch {
    return false;
  }
}

/** Starts a redis-server on a free port. Requires `redis-server` on PATH. */
export async function startRedisServer(opts: RedisServerOptions & { detached?: boolean } = {}): Promise<RedisServer> {
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), "bump-redis-"));
  let proc: Subprocess | undefined;
  const launch = async () => {
    const args = [
      "redis-server",
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--appendonly",
      "yes",
      "--appendfsync",
      "always",
      "--save",
      "",
      // as the product's Redis (docker-compose.yml): 1 KiB stream nodes, so a new user history is not 4 KiB
      "--stream-node-max-bytes",
      "1024",
      "--daemonize",
      "no",
      "--loglevel",
      "warning",
      ...(opts.args ?? []),
    ];
    // A watchdog ends the server when this process goes away, however it ends.
    proc = spawnWatched(args);
    if (opts.detached) proc.unref();
    await waitFor(() => ping(port), { timeoutMs: 10_000, what: `redis-server on ${port}` });
  };
  await launch();
  // SIGTERM to the watchdog makes it SIGKILL the server: no shutdown save, only what AOF wrote survives.
  const kill = async () => {
    if (!proc) return;
    proc.kill("SIGTERM");
    await proc.exited;
    proc = undefined;
    await waitFor(async () => !(await ping(port)), { timeoutMs: 5_000, what: "redis-server to stop" });
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    kill9: kill,
    restart: launch,
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let shared: Promise<string> | undefined;

/**
 * The Redis URL for this test process: `REDIS_URL` when set, else a redis-server started once per process
 * and stopped when the process exits.
 */
export function testRedisUrl(): Promise<string> {
  if (process.env.REDIS_URL) return Promise.resolve(process.env.REDIS_URL);
  shared ??= startRedisServer({ detached: true }).then((srv) => {
    process.on("exit", () => rmSync(srv.dir, { recursive: true, force: true }));
    return srv.url;
  });
  return shared;
}
