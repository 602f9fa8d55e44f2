import type { JobPriority, JobProgress } from "@bump/contracts";
import type { Logger } from "@bump/service";
import type { ZodType } from "zod";

/** Retry delay policy of a queue. */
export interface JobBackoff {
  /** `exponential` doubles the delay after each failure; `fixed` keeps it. */
  type: "fixed" | "exponential";
  /** Delay after the first failure, ms. */
  delayMs: number;
  /** Fraction of the delay randomised (0..1): the delay lies in [d*(1-j), d]. Default 0.2. */
  jitter?: number;
  /** Largest delay, ms. Default 60,000. */
  maxDelayMs?: number;
}

/** How many finished jobs are kept, and for how long; whichever bound is hit first removes the oldest. */
export interface RetentionRule {
  /** Most records kept. */
  count: number;
  /** Oldest record kept, ms after it finished. */
  ageMs: number;
}

/** What a handler gets besides the job. */
export interface JobContext {
  /** Aborted when the job times out or the worker is forced to stop; stop work and throw when it fires. */
  readonly signal: AbortSignal;
  /** Records progress (0..100 or a JSON object) and reports it to the owner. */
  progress(p: JobProgress): Promise<void>;
  /** Logger with the job id and queue. */
  readonly log: Logger;
}

/** A job as a handler sees it. */
export interface Job<T> {
  readonly id: string;
  readonly queue: string;
  readonly data: T;
  /** 1 on the first run; counts retries and runs lost with a dead worker. */
  readonly attempt: number;
  readonly priority: JobPriority;
  /** The user the job belongs to, if any. */
  readonly owner?: string;
}

/** A queue declared in code. */
export interface QueueDefinition<T = unknown, R = unknown> {
  /** 1-64 chars of `[a-z0-9_-]`. */
  readonly name: string;
  /** Data failing it is refused at `add` and never enqueued. */
  readonly schema: ZodType<T>;
  /** Jobs run at once per worker process. Default 1. */
  readonly concurrency: number;
  /** Runs before a job fails for good and goes to the dead-letter stream. Default 3. */
  readonly attempts: number;
  readonly backoff: JobBackoff;
  /** A run longer than this is aborted (its signal fires) and counts as a failed attempt. */
  readonly timeoutMs: number;
  readonly retention: { completed: RetentionRule; failed: RetentionRule };
  /** Does the work; its resolved value (JSON) becomes the job's result. Throwing fails the attempt. */
  handler(job: Job<T>, ctx: JobContext): Promise<R>;
}

/** What a producer needs of a queue: everything but the handler. */
export type QueueSpec<T = unknown> = Omit<QueueDefinition<T, unknown>, "handler">;

/** Options of {@link defineQueue}; every field but name, schema and handler has a default. */
export type QueueDefinitionInput<T, R> = Pick<QueueDefinition<T, R>, "name" | "schema" | "handler"> &
  Partial<Omit<QueueDefinition<T, R>, "name" | "schema" | "handler">>;

const namePattern = /^[a-z0-9_-]{1,64}$/;

/**
 * Declares a queue. Defaults: concurrency 1, 3 attempts, exponential backoff from 1 s with 20% jitter,
 * 30 s timeout, 1,000 completed jobs kept for 1 h and 5,000 failed jobs kept for 7 days.
 */
export function defineQueue<T, R = unknown>(input: QueueDefinitionInput<T, R>): QueueDefinition<T, R> {
  if (!namePattern.test(input.name)) throw new Error(`queue name ${input.name} must match [a-z0-9_-]{1,64}`);
  const def: QueueDefinition<T, R> = {
    concurrency: 1,
    attempts: 3,
    backoff: { type: "exponential", delayMs: 1_000, jitter: 0.2 },
    timeoutMs: 30_000,
    retention: {
      completed: { count: 1_000, ageMs: 3_600_000 },
      failed: { count: 5_000, ageMs: 7 * 86_400_000 },
    },
    ...input,
  };
  if (def.concurrency < 1 || def.attempts < 1 || def.timeoutMs < 1) {
    throw new Error(`queue ${def.name}: concurrency, attempts and timeoutMs must be positive`);
  }
  return def;
}
