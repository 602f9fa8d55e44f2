import type { Subprocess } from "bun";

/**
 * Spawns `args` (a server) under a bash watchdog that SIGKILLs it when this process goes away, however it ends, or
 * when the watchdog gets SIGTERM (no shutdown save: only what the server already wrote survives).
 */
export function spawnWatched(args: string[]): Subprocess {
  const watchdog = `"$@" & pid=$!; trap 'kill -9 $pid 2>/dev/null' TERM INT; while kill -0 ${process.pid} 2>/dev/null && kill -0 $pid 2>/dev/null; do sleep 0.5; done; kill -9 $pid 2>/dev/null`;
  return Bun.spawn(["bash", "-c", watchdog, "redis-watchdog", ...args], { stdout: "ignore", stderr: "ignore" });
}
