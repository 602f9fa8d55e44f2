import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { canBind, freePort, waitFor } from "./ports.ts";
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
 * A free port for a cluster node: a node also listens on its port + 10,000 (the cluster bus), so that one must be
 * free too, and at most 65,535.
 */
async function freeNodePort(): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const port = await freePort();
    if (port + 10_000 <= 65_535 && (await canBind(port + 10_000))) return port;
  }
  throw new Error("no free port pair (port, port + 10,000) for a cluster node");
}

/**
 * Starts one cluster node in `dir` and waits until it answers PING. A node that exits first (its port or bus port
 * was taken between the check and its bind) is started again on other ports, up to 3 times.
 */
async function startNode(dir: string): Promise<{ port: number; proc: Subprocess }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freeNodePort();
    const proc = spawnWatched([
      "redis-server",
      ...["--port", String(port), "--bind", "127.0.0.1", "--dir", dir],
      ...["--cluster-enabled", "yes", "--cluster-config-file", `nodes-${port}.conf`],
      ...["--cluster-node-timeout", "5000", "--appendonly", "no", "--save", "", "--stream-node-max-bytes", "1024"],
      ...["--daemonize", "no", "--loglevel", "warning"],
    ]);
    const deadline = Date.now() + 10_000;
    while (proc.exitCode === null && Date.now() < deadline) {
      try {
        if (cli(port, "PING").trim() === "PONG") return { port, proc };
      } catch {
        // not yet
      }
      await Bun.sleep(25);
    }
    proc.kill("SIGTERM");
    await proc.exited;
    if (attempt >= 3) throw new Error(`cluster node on ${port} did not start (attempt ${attempt})`);
  }
}

/**
 * Starts `masters` (default 3) `redis-server --cluster-enabled yes` nodes on free ports (each with a free bus port), joins them with
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
      const node = await startNode(dir);
      ports.push(node.port);
      procs.push(node.proc);
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
