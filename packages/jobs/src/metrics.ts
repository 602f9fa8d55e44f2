import type { Counter, Histogram, Registry } from "@bump/service";

/** Per-queue job metrics. Label: `queue`. */
export interface JobMetrics {
  started: Counter;
  completed: Counter;
  retried: Counter;
  failed: Counter;
  timedOut: Counter;
  seconds: Histogram;
}

/** Registers (once) and returns the job metrics on `registry`. */
export function jobMetrics(registry: Registry): JobMetrics {
  const l = ["queue"] as const;
  return {
    started: registry.counter("jobs_started_total", "Job runs started", l),
    completed: registry.counter("jobs_completed_total", "Jobs completed", l),
    retried: registry.counter("jobs_retried_total", "Job runs failed with another attempt to follow", l),
    failed: registry.counter("jobs_failed_total", "Jobs failed for good (dead-lettered)", l),
    timedOut: registry.counter("jobs_timed_out_total", "Job runs aborted by their timeout", l),
    seconds: registry.histogram("jobs_run_seconds", "Duration of one job run", l),
  };
}
