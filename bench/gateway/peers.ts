/** Starting the peer servers of the gateway benchmark, each in its own process. */

/** A peer server process. */
export interface PeerProcess {
  readonly port: number;
  readonly pid: number;
  kill(): Promise<void>;
}

/** Runs `bun <script>` with `env` and waits for the `{"port"}` line it prints once listening. */
export async function startPeer(script: string, env: Record<string, string>): Promise<PeerProcess> {
  const proc = Bun.spawn(["bun", script], { stdout: "pipe", stderr: "inherit", env: { ...process.env, ...env } });
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${script} exited before listening`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const port = (JSON.parse(text.slice(0, text.indexOf("\n"))) as { port: number }).port;
  return {
    port,
    pid: proc.pid,
    async kill() {
      proc.kill(9);
      await proc.exited;
    },
  };
}

/** `bun <entry>` with a CPU profile written to `dir` when it exits (stop it with SIGTERM). */
export function spawnProfiled(entry: string, env: Record<string, string>, dir: string) {
  const proc = Bun.spawn(["bun", "--cpu-prof", `--cpu-prof-dir=${dir}`, entry], {
    stdout: "inherit",
    stderr: "inherit",
    env: { ...process.env, ...env },
  });
  return {
    proc,
    async kill9() {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}
