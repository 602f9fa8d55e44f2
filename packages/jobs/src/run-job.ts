import type { JobPriority, JobProgress, JobUpdate } from "@bump/contracts";
import type { Logger } from "@bump/service";
import type { Job, JobContext, QueueDefinition } from "./definition.ts";
import { JobCancelledError } from "./job-cancelled-error.ts";
import { JobTimeoutError } from "./job-timeout-error.ts";
import type { JobMetrics } from "./metrics.ts";

/** Reports a job's progress and outcome to its owner (e.g. a reliable `job` frame). */
export type JobNotifier = (ownerId: string, update: JobUpdate) => Promise<unknown> | unknown;

/** How a run ended: `c` completed, `r` failed with another attempt to follow, `f` failed for good, `x` cancelled. */
export type RunOutcome = "c" | "r" | "f" | "x";

/** What a run needs from its worker. */
export interface RunDeps {
  definition: QueueDefinition<unknown, unknown>;
  /**
   * Records the outcome; resolves with 1 (recorded), 2 (a retry turned into a cancellation: the job was
   * cancelled meanwhile) or 0 (stale: the run had lost its job to a reclaim).
   */
  settle(s: StartedJob, kind: RunOutcome, payload: string): Promise<number>;
  writeProgress(id: string, progress: JobProgress): Promise<void>;
  notify?: JobNotifier;
  metrics: JobMetrics;
  log: Logger;
  /** Runs in flight, with their job ids: the worker aborts one when its job is cancelled, all when forced to stop. */
  inFlight: Map<(reason: unknown) => void, string>;
}

/** A started run: the job as the start script returned it, with the stream entry it was started from. */
export interface StartedJob {
  id: string;
  entry: string;
  attempt: number;
  priority: JobPriority;
  data: unknown;
  owner?: string;
}

function message(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 1_000);
}

type Ended = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Runs one job with its timeout: the handler's signal aborts at `timeoutMs`, when the job is cancelled (reason
 * {@link JobCancelledError}) or when the worker is forced to stop, and the attempt fails even if the handler
 * ignores the signal. A cancelled job fails for good, without a retry. Records the outcome, then reports it to the
 * owner in order (active, progress..., completed / retrying / failed). Never rejects.
 */
export async function runJob(deps: RunDeps, s: StartedJob): Promise<void> {
  const def = deps.definition;
  const labels = [def.name];
  let log: Logger | undefined;
  const logger = () => {
    log ??= deps.log.child({ jobId: s.id, attempt: s.attempt });
    return log;
  };
  let chain: Promise<unknown> | undefined;
  const emit = (u: Omit<JobUpdate, "id" | "queue">) => {
    const { notify } = deps;
    if (!notify || !s.owner) return;
    const owner = s.owner;
    chain = (chain ?? Promise.resolve())
      .then(() => notify(owner, { id: s.id, queue: def.name, ...u }))
      .catch((err) => logger().warn("job notify failed", { err: message(err) }));
  };
  // the controller is made on first use: most handlers never look at their signal
  let ac: AbortController | undefined;
  let end!: (e: Ended) => void;
  const ended = new Promise<Ended>((resolve) => {
    end = resolve;
  });
  const abort = (reason: unknown) => {
    ac ??= new AbortController();
    ac.abort(reason);
    end({ ok: false, error: reason });
  };
  deps.inFlight.set(abort, s.id);
  const timer = setTimeout(() => abort(new JobTimeoutError(s.id, def.timeoutMs)), def.timeoutMs);
  let live = true;
  const ctx: JobContext = {
    get signal() {
      ac ??= new AbortController();
      return ac.signal;
    },
    get log() {
      return logger();
    },
    progress: async (p) => {
      if (!live) return;
      await deps.writeProgress(s.id, p);
      emit({ state: "progress", progress: p });
    },
  };
  const job: Job<unknown> = { id: s.id, queue: def.name, data: s.data, attempt: s.attempt, priority: s.priority };
  if (s.owner) (job as { owner?: string }).owner = s.owner;
  deps.metrics.started.inc(labels);
  emit({ state: "active" });
  const started = performance.now();
  try {
    def.handler(job, ctx).then(
      (value) => end({ ok: true, value }),
      (error) => end({ ok: false, error }),
    );
  } catch (error) {
    end({ ok: false, error });
  }
  const outcome = await ended;
  live = false;
  clearTimeout(timer);
  deps.inFlight.delete(abort);
  deps.metrics.seconds.observe(labels, (performance.now() - started) / 1000);
  if (outcome.ok) {
    const result = outcome.value ?? null;
    await deps.settle(s, "c", JSON.stringify(result));
    deps.metrics.completed.inc(labels);
    emit({ state: "completed", result: result as JobUpdate["result"] });
  } else {
    const err = outcome.error;
    if (err instanceof JobTimeoutError) deps.metrics.timedOut.inc(labels);
    let cancelled = err instanceof JobCancelledError;
    const final = cancelled || s.attempt >= def.attempts;
    let text = cancelled ? "cancelled" : message(err);
    if (!cancelled) logger().warn("job run failed", { err: text, final });
    // 2: the job was cancelled while this run failed, so the retry became a cancellation.
    if ((await deps.settle(s, cancelled ? "x" : final ? "f" : "r", text)) === 2) {
      cancelled = true;
      text = "cancelled";
    }
    (final || cancelled ? deps.metrics.failed : deps.metrics.retried).inc(labels);
    emit({ state: final || cancelled ? "failed" : "retrying", error: text });
  }
  if (chain) await chain;
}
