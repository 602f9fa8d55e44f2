import type { Logger } from "@bump/service";
import { isConnectionError } from "./connection-error.ts";

/** Options of {@link writeThroughOutage}. */
export interface OutageOptions {
  /** Resolves when the database answers (e.g. `select 1`); rejects otherwise. */
  probe: () => Promise<unknown>;
  /** Aborting ends the wait: the pending write rejects and its entries are retried later. */
  signal: AbortSignal;
  /** Told when writing pauses (true) and resumes (false). */
  onPause?: (paused: boolean) => void;
  logger: Logger;
  /** Longest wait between probes, ms. Default 1000. */
  maxProbeIntervalMs?: number;
  /** A probe unanswered this long counts as failed, ms. Default 2000. */
  probeTimeoutMs?: number;
}

/** Resolves when `probe` succeeds within `ms`; rejects when it fails or takes longer. */
async function probeWithin(probe: () => Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("probe timed out")), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Runs `write` until it succeeds. A connection-class failure (see `isConnectionError`) pauses: the probe is
 * polled with capped backoff until the database answers, then the write runs again; so an outage of any length
 * neither fails nor dead-letters anything, it only delays. Any other error is thrown at once (a problem with the
 * rows, for the consumer's retry and dead-letter path), as is the last error once `signal` aborts.
 */
export async function writeThroughOutage<R>(write: () => Promise<R>, opts: OutageOptions): Promise<R> {
  const maxInterval = opts.maxProbeIntervalMs ?? 1_000;
  for (;;) {
    try {
      return await write();
    } catch (err) {
      if (!isConnectionError(err) || opts.signal.aborted) throw err;
      opts.onPause?.(true);
      opts.logger.warn("database unreachable; pausing writes until it answers", { err });
      for (let attempt = 0; ; attempt++) {
        await sleep(Math.min(50 * 2 ** attempt, maxInterval), opts.signal);
        if (opts.signal.aborted) throw err;
        try {
          await probeWithin(opts.probe, opts.probeTimeoutMs ?? 2_000);
          break;
        } catch {
          // still down
        }
      }
      opts.onPause?.(false);
      opts.logger.info("database answers again; resuming writes");
    }
  }
}
