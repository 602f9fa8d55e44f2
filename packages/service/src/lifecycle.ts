import type { Logger } from "./logger.ts";

/** A step run on shutdown, in reverse order of registration. */
export type StopStep = () => Promise<void> | void;

/**
 * Runs `steps` (last registered first) once on SIGTERM or SIGINT, then exits 0. A second signal, or steps that
 * take longer than `graceMs` (default 10 s), exit at once with code 1.
 */
export function onShutdown(log: Logger, steps: StopStep[], graceMs = 10_000): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  const stop = () => {
    if (stopping) return stopping;
    stopping = (async () => {
      log.info("shutting down");
      const timer = setTimeout(() => {
        log.error("shutdown grace period exceeded");
        process.exit(1);
      }, graceMs);
      for (const step of [...steps].reverse()) {
        try {
          await step();
        } catch (err) {
          log.error("shutdown step failed", { err });
        }
      }
      clearTimeout(timer);
      log.info("stopped");
    })();
    return stopping;
  };
  const handler = (signal: string) => {
    if (stopping) process.exit(1);
    log.info("signal received", { signal });
    void stop().then(() => process.exit(0));
  };
  process.on("SIGTERM", () => handler("SIGTERM"));
  process.on("SIGINT", () => handler("SIGINT"));
  return stop;
}
