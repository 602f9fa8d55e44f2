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

/** What the runs of one worker share with it. */
export interface RunHost {
  readonly definition: QueueDefinition<unknown, unknown>;
  /** `[queue name]`, the label values of the job metrics. */
  readonly labels: readonly string[];
  readonly metrics: JobMetrics;
  readonly log: Logger;
  readonly notify?: JobNotifier;
  /** The run's outcome is known ({@link JobRun.outcome}): record it, then call {@link JobRun.settled}. */
  ended(run: JobRun): void;
  /** The run is over: its outcome is recorded and reported. */
  released(run: JobRun): void;
  writeProgress(id: string, progress: JobProgress): Promise<void>;
}

/** A started run: the job as the fetch script returned it, with the stream entry it was started from. */
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

/**
 * One run of a job, and the context its handler gets. The handler's signal aborts at the deadline (its worker
 * calls {@link abort} with a {@link JobTimeoutError}), when the job is cancelled (reason {@link JobCancelledError})
 * or when the worker is forced to stop, and the attempt fails even if the handler ignores the signal. A cancelled
 * job fails for good, without a retry. The outcome is recorded first, then reported to the owner in order
 * (active, progress..., completed / retrying / failed). A run allocates no timer, and no controller until its
 * handler looks at its signal.
 */
export class JobRun implements JobContext {
  /** Neighbours in the worker's list of runs, oldest first (so deadlines ascend). */
  prev: JobRun | undefined;
  next: JobRun | undefined;
  /** The outcome once known, with its payload (result JSON or error text). */
  outcome: RunOutcome | undefined;
  payload = "";
  private result: unknown = null;
  readonly job: Job<unknown>;
  private ac: AbortController | undefined;
  private chain: Promise<unknown> | undefined;
  private logger: Logger | undefined;
  private boundProgress: ((p: JobProgress) => Promise<void>) | undefined;
  private readonly startedAt = performance.now();

  constructor(
    private readonly host: RunHost,
    readonly started: StartedJob,
    /** When the run times out, ms (`Date.now()` clock). */
    readonly deadline: number,
  ) {
    const job: { -readonly [K in keyof Job<unknown>]: Job<unknown>[K] } = {
      id: started.id,
      queue: host.definition.name,
      data: started.data,
      attempt: started.attempt,
      priority: started.priority,
    };
    if (started.owner) job.owner = started.owner;
    this.job = job;
  }

  get signal(): AbortSignal {
    this.ac ??= new AbortController();
    return this.ac.signal;
  }

  get log(): Logger {
    this.logger ??= this.host.log.child({ jobId: this.started.id, attempt: this.started.attempt });
    return this.logger;
  }

  /** Bound, so a handler may take it out of the context. */
  get progress(): (p: JobProgress) => Promise<void> {
    this.boundProgress ??= async (p) => {
      if (this.outcome !== undefined) return;
      await this.host.writeProgress(this.started.id, p);
      this.emit({ state: "progress", progress: p });
    };
    return this.boundProgress;
  }

  /** True until the outcome is known. */
  get running(): boolean {
    return this.outcome === undefined;
  }

  /** Calls the handler; its outcome goes to {@link RunHost.ended}. */
  start(): void {
    this.emit({ state: "active" });
    let p: Promise<unknown>;
    try {
      p = this.host.definition.handler(this.job, this);
    } catch (err) {
      this.fail(err);
      return;
    }
    p.then(
      (value) => this.complete(value),
      (err) => this.fail(err),
    );
  }

  /** Aborts the signal with `reason` and fails the attempt now (a no-op once the outcome is known). */
  abort(reason: unknown): void {
    if (this.outcome !== undefined) return;
    this.ac ??= new AbortController();
    this.ac.abort(reason);
    this.fail(reason);
  }

  /**
   * The outcome is recorded: `code` 1 (recorded), 2 (a retry turned into a cancellation: the job was cancelled
   * meanwhile) or 0 (stale: the run had lost its job to a reclaim). Reports it to the owner.
   */
  settled(code: number): void {
    const { metrics } = this.host;
    const labels = this.host.labels;
    if (this.outcome === "c") {
      metrics.completed.inc(labels);
      this.emit({ state: "completed", result: this.result as JobUpdate["result"] });
    } else {
      if (code === 2) {
        this.outcome = "x";
        this.payload = "cancelled";
      }
      const final = this.outcome !== "r";
      (final ? metrics.failed : metrics.retried).inc(labels);
      this.emit({ state: final ? "failed" : "retrying", error: this.payload });
    }
    if (this.chain) void this.chain.then(() => this.host.released(this));
    else this.host.released(this);
  }

  private complete(value: unknown): void {
    if (this.outcome !== undefined) return;
    let payload: string;
    try {
      payload = value === null || value === undefined ? "null" : JSON.stringify(value);
    } catch (err) {
      this.fail(err);
      return;
    }
    this.result = value ?? null;
    this.end("c", payload);
  }

  private fail(err: unknown): void {
    if (this.outcome !== undefined) return;
    if (err instanceof JobTimeoutError) this.host.metrics.timedOut.inc(this.host.labels);
    if (err instanceof JobCancelledError) {
      this.end("x", "cancelled");
      return;
    }
    const final = this.started.attempt >= this.host.definition.attempts;
    const text = message(err);
    this.log.warn("job run failed", { err: text, final });
    this.end(final ? "f" : "r", text);
  }

  private end(outcome: RunOutcome, payload: string): void {
    this.outcome = outcome;
    this.payload = payload;
    this.host.metrics.seconds.observe(this.host.labels, (performance.now() - this.startedAt) / 1000);
    this.host.ended(this);
  }

  private emit(u: Omit<JobUpdate, "id" | "queue">): void {
    const { notify } = this.host;
    const owner = this.started.owner;
    if (!notify || !owner) return;
    const update = { id: this.started.id, queue: this.host.definition.name, ...u } as JobUpdate;
    this.chain = (this.chain ?? Promise.resolve())
      .then(() => notify(owner, update))
      .catch((err) => this.log.warn("job notify failed", { err: message(err) }));
  }
}
