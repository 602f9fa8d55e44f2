import { z } from "zod";
import { isoDateTime, jsonObject } from "./primitives.ts";

/** Longest `delay_ms` of a job: 30 days. */
export const MAX_JOB_DELAY_MS = 30 * 24 * 60 * 60 * 1000;

/** A queue name: 1-64 chars of `[a-z0-9_-]`. */
export const queueName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9_-]+$/, { error: "expected only [a-z0-9_-]" });

/** A job id: 1-128 chars, minted by the job engine. */
export const jobId = z.string().min(1).max(128);

/** Job priorities; higher ones are always taken first. */
export const jobPriority = z.enum(["high", "normal", "low"]);

/** A job priority as typed by {@link jobPriority}. */
export type JobPriority = z.infer<typeof jobPriority>;

/** Where a job stands in its queue. */
export const jobState = z.enum(["waiting", "delayed", "active", "completed", "failed", "paused"]);

/** A job state as typed by {@link jobState}. */
export type JobState = z.infer<typeof jobState>;

/**
 * The body of `POST /v1/jobs`. `data` is any JSON value, checked against the queue's own schema by the engine;
 * `priority` defaults to `normal`; `delay_ms` is 0..30 days; the same `idempotency_key` from the same user
 * yields the same job. Strict: unknown fields are rejected.
 */
export const jobEnqueue = z.strictObject({
  queue: queueName,
  data: z.json(),
  priority: jobPriority.default("normal"),
  delay_ms: z.int().min(0).max(MAX_JOB_DELAY_MS).optional(),
  idempotency_key: z.string().min(1).max(128).optional(),
});

/** A parsed enqueue body as typed by {@link jobEnqueue} (`priority` filled in). */
export type JobEnqueue = z.infer<typeof jobEnqueue>;

/** A job's progress: a percentage 0..100 or a JSON object the job reports. */
export const jobProgress = z.union([z.number().min(0).max(100), jsonObject]);

/** Job progress as typed by {@link jobProgress}. */
export type JobProgress = z.infer<typeof jobProgress>;

/**
 * A job as `GET /v1/jobs/:id` answers it. Times are ISO 8601; `attempts` counts the runs started so far;
 * `result` is set once completed, `error` the last failure's message.
 */
export const jobRecord = z.strictObject({
  id: jobId,
  queue: queueName,
  state: jobState,
  priority: jobPriority,
  attempts: z.int().nonnegative(),
  max_attempts: z.int().positive(),
  progress: jobProgress.optional(),
  result: z.json().optional(),
  error: z.string().optional(),
  created_at: isoDateTime,
  started_at: isoDateTime.optional(),
  finished_at: isoDateTime.optional(),
});

/** A public job record as typed by {@link jobRecord}. */
export type JobRecord = z.infer<typeof jobRecord>;

/**
 * What a `job` frame reports: `active` (a run started), `progress`, `retrying` (a run failed and another
 * follows), `completed` (with `result`) or `failed` (for good, with `error`).
 */
export const jobFrameState = z.enum(["active", "progress", "retrying", "completed", "failed"]);

/** A job frame state as typed by {@link jobFrameState}. */
export type JobFrameState = z.infer<typeof jobFrameState>;

/** The `job` of a `job` frame, delivered reliably to the job's owner. */
export const jobUpdate = z.strictObject({
  id: jobId,
  queue: queueName,
  state: jobFrameState,
  progress: jobProgress.optional(),
  result: z.json().optional(),
  error: z.string().optional(),
});

/** A job frame payload as typed by {@link jobUpdate}. */
export type JobUpdate = z.infer<typeof jobUpdate>;
