import type { JobPriority, JobProgress, JobUpdate } from "@bump/contracts";
import type { Logger } from "@bump/service";
import type { Job, JobContext, QueueDefinition } from "./definition.ts";
import { JobCancelledError } from "./job-cancelled-error.ts";
import { JobTimeoutError } from "./job-timeout-error.ts";
import type { JobMetrics } from "./metrics.ts";

/** Reports a job's progress and outcome to its owner (e.g. a reliable `job` frame). */
export type JobNotifier = (ownerId: string, update: JobUpdate) => Promise<unknown> | unknown;

/** What a run needs from its worker. */
export interface RunDeps {
  definition: QueueDefinition<unknown, unknown>;
  settle(id: string, attempt: number, kind: "c" | "r" | "f", payload: string): Promise<number>;
  writeProgress(id: string, progress: JobProgress): Promise<void>;
  notify?: JobNotifier;
  metrics: JobMetrics;
  log: Logger;
  /** Runs in flight, with their job ids: the worker aborts one when its job is cancelled, all when forced to stop. */
  inFlight: Map<(reason: unknown) => void, string>;
}

/** A started run: the job as the start script returned it. */
export interface StartedJob {
  id: string;
  attempt: number;
  priority: JobPriority;
  data: unknown;
  owner?: string;
}

function message(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 1_000);
}

/**
 * Runs one job with its timeout: the handler's signal aborts at `timeoutMs`, when the job is cancelled (reason
 * {@link JobCancelledError}) or when the worker is forced to stop, and the attempt fails even if the handler
 * ignores the signal. A cancelled job fails for good, without a retry. Records the outcome, then reports it to the
 * owner in order (active, progress..., completed / retrying / failed). Resolves with the error of a failed attempt
 * that the bus should retry or bury, or `undefined` (done with: completed or cancelled).
 */
export async function runJob(deps: RunDeps, s: StartedJob): Promise<unknown> {
  const def = deps.definition;
  const labels = [def.name];
  let log: Logger | undefined;
  const logger = () => {
    log ??= deps.log.child({ jobId: s.id, attempt: s.attempt });
    return log;
  };
  let chain: Promise<unknown> = Promise.resolve();
  const emit = (u: Omit<JobUpdate, "id" | "queue">) => {
    const { notify } = deps;
    if (!notify || !s.owner) return;
    const owner = s.owner;
    chain = chain
      .then(() => notify(owner, { id: s.id, queue: def.name, ...u }))
      .catch((err) => logger().warn("job notify failed", { err: message(err) }));
  };
  const ac = new AbortController();
  let rejectRun: (reason: unknown) => void = () => {};
  const aborted = new Promise<never>((_, reject) => {
    rejectRun = reject;
  });
  const abort = (reason: unknown) => {
    ac.abort(reason);
    rejectRun(reason);
  };
  deps.inFlight.set(abort, s.id);
  const timer = setTimeout(() => abort(new JobTimeoutError(s.id, def.timeoutMs)), def.timeoutMs);
  let live = true;
  const ctx: JobContext = {
    signal: ac.signal,
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
  let failure: unknown;
  try {
    const result = await Promise.race([def.handler(job, ctx), aborted]);
    live = false;
    await deps.settle(s.id, s.attempt, "c", JSON.stringify(result ?? null));
    deps.metrics.completed.inc(labels);
    emit({ state: "completed", result: (result ?? null) as JobUpdate["result"] });
  } catch (err) {
    live = false;
    failure = err;
    if (err instanceof JobTimeoutError) deps.metrics.timedOut.inc(labels);
    let cancelled = err instanceof JobCancelledError;
    const final = cancelled || s.attempt >= def.attempts;
    let text = message(err);
    // 2: the job was cancelled while this run failed, so the retry became a cancellation.
    if ((await deps.settle(s.id, s.attempt, final ? "f" : "r", text)) === 2) {
      cancelled = true;
      text = "cancelled";
    }
    if (cancelled) failure = undefined;
    (final || cancelled ? deps.metrics.failed : deps.metrics.retried).inc(labels);
    emit({ state: final || cancelled ? "failed" : "retrying", error: text });
  } finally {
    clearTimeout(timer);
    deps.inFlight.delete(abort);
    deps.metrics.seconds.observe(labels, (performance.now() - started) / 1000);
  }
  await chain;
  return failure;
}
