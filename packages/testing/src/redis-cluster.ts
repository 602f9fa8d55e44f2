import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort, waitFor } from "./ports.ts";
import { spawnWatched } from "./watchdog.ts";

/** A throwaway Redis Cluster of masters without replicas or persistence, in a temporary directory. */
export interface RedisCluster {
  /** The URL of the first master, a seed node: `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** The port of every master. */
  readonly ports: readonly number[];
  /** Stops every node and removes the directory. */
  stop(): Promise<void>;
}

function cli(port: number, ...args: string[]): string {
  const run = Bun.spawnSync(["redis-cli", "-p", String(port), ...args], { stdout: "pipe", stderr: "pipe" });
  if (run.exitCode !== 0) throw new Error(`redis-cli ${args.join(" ")}: ${run.stderr.toString()}`);
  return run.stdout.toString();
}

/**
 * Starts `masters` (default 3) `redis-server --cluster-enabled yes` nodes on free ports, joins them with
 * `redis-cli --cluster create` (no replicas) and waits until every node reports `cluster_state:ok`. Requires
 * `redis-server` and `redis-cli` on PATH. Each node is killed when this process goes away, however it ends.
 */
export async function startRedisCluster(opts: { masters?: number } = {}): Promise<RedisCluster> {
  const count = opts.masters ?? 3;
  const dir = mkdtempSync(join(tmpdir(), "bump-redis-cluster-"));
  const ports: number[] = [];
  const procs: Subprocess[] = [];
  const stop = async () => {
    for (const proc of procs) proc.kill("SIGTERM");
    await Promise.all(procs.map((p) => p.exited));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      ports.push(port);
      const args = [
        "redis-server",
        ...["--port", String(port), "--bind", "127.0.0.1", "--dir", dir],
        ...["--cluster-enabled", "yes", "--cluster-config-file", `nodes-${port}.conf`],
        ...["--cluster-node-timeout", "5000", "--appendonly", "no", "--save", "", "--stream-node-max-bytes", "1024"],
        ...["--daemonize", "no", "--loglevel", "warning"],
      ];
      procs.push(spawnWatched(args));
    }
    for (const port of ports) {
      await waitFor(() => cli(port, "PING").trim() === "PONG", { timeoutMs: 10_000, what: `cluster node on ${port}` });
    }
    cli(
      ports[0] ?? 0,
      ...["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`)],
      ...["--cluster-replicas", "0", "--cluster-yes"],
    );
    for (const port of ports) {
      await waitFor(() => cli(port, "CLUSTER", "INFO").includes("cluster_state:ok"), {
        timeoutMs: 20_000,
        intervalMs: 100,
        what: `cluster_state:ok on ${port}`,
      });
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `redis://127.0.0.1:${ports[0]}`, ports, stop };
}
