/**
 * Job queues on the bus: queues declared in code with a schema, concurrency, attempts, backoff, timeout and
 * retention; priorities, delayed jobs, idempotency keys, pause and resume, live progress reported to the job's
 * owner, dead letters with replay. Delivery is at least once and a finished job never runs again, so a job
 * completes once in effect; finished records are trimmed by retention, so Redis memory stays bounded.
 */

export { boxSchema, broadcastData, catalog, cleanupData, exportData, publicQueues } from "./catalog.ts";
export {
  defineQueue,
  type Job,
  type JobBackoff,
  type JobContext,
  type QueueDefinition,
  type QueueDefinitionInput,
  type QueueSpec,
  type RetentionRule,
} from "./definition.ts";
export { JobCancelledError } from "./job-cancelled-error.ts";
export { JobTimeoutError } from "./job-timeout-error.ts";
export { priorities, type QueueKeys, queueKeys, queueOfJobId } from "./keys.ts";
export { type JobMetrics, jobMetrics } from "./metrics.ts";
export {
  type AddOptions,
  type CancelOutcome,
  type DeadJob,
  Queue,
  type QueueCounts,
  type QueueOptions,
} from "./queue.ts";
export type { StoredJob } from "./record.ts";
export type { JobNotifier } from "./run-job.ts";
export { QueueWorker, type QueueWorkerOptions } from "./worker.ts";
