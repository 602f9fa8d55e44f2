import type { Subprocess } from "bun";
import { waitFor } from "./ports.ts";

/** A service or script run as its own process for a test. */
export interface ServiceProcess {
  readonly proc: Subprocess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  kill9(): Promise<void>;
  /** SIGTERM, then waits for the exit code. */
  stop(): Promise<number>;
}

/** Runs `bun <entry> ...args` with `env` merged over this process's environment. */
export function spawnService(entry: string, env: Record<string, string>, args: string[] = []): ServiceProcess {
  let out = "";
  const proc = Bun.spawn(["bun", entry, ...args], {
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const dec = new TextDecoder();
    for await (const chunk of stream) out += dec.decode(chunk);
  };
  void pump(proc.stdout as ReadableStream<Uint8Array>);
  void pump(proc.stderr as ReadableStream<Uint8Array>);
  return {
    proc,
    output: () => out,
    kill9: async () => {
      proc.kill("SIGKILL");
      await proc.exited;
    },
    stop: async () => {
      proc.kill("SIGTERM");
      return proc.exited;
    },
  };
}

/** Waits until `url` answers 200. */
export function waitForHttp(url: string, timeoutMs = 15_000): Promise<void> {
  return waitFor(async () => (await fetch(url)).status === 200, { timeoutMs, what: url });
}
