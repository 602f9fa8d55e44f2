/**
 * Every Redis key of a job queue, built in one place. All keys of one queue share the hash tag `{jobs:<name>}`
 * (with a namespace in tests), so every script of the queue runs on a single Redis Cluster slot. Scripts that
 * touch per-job hashes build them from {@link QueueKeys.prefix} inside that same slot.
 */
import type { JobPriority } from "@bump/contracts";
import type { StreamKeys } from "@bump/streams";

/** Priorities in the order they are served. */
export const priorities = ["high", "normal", "low"] as const satisfies readonly JobPriority[];

/** The keys of one queue. */
export interface QueueKeys {
  /** The queue name as declared. */
  readonly queue: string;
  /** `{ns:jobs:name}:`, the prefix of every key below. */
  readonly prefix: string;
  /** Stream keys per priority (their `name` is `jobs:<queue>:<priority>` in the admin API). */
  readonly streams: Record<JobPriority, StreamKeys>;
  /** The consumer group every worker of the queue reads the priority streams with. */
  readonly group: string;
  /** The queue's dead-letter stream, shared by its priorities; a dead letter's group is the job's priority. */
  readonly dlq: string;
  /** Sorted set of delayed jobs and jobs waiting for their next attempt, scored by due time (ms). */
  readonly delayed: string;
  /** Sorted set of completed job ids, scored by finish time (ms); trimmed by retention. */
  readonly completed: string;
  /** Sorted set of failed job ids, scored by finish time (ms); trimmed by retention. */
  readonly failed: string;
  /** Present while the queue is paused. */
  readonly paused: string;
  /** List of job ids read while paused, handed back on resume. */
  readonly held: string;
  /** List of jobs cancelled before they ran (`{"j":id,"o":owner}`), for a worker to report to their owners. */
  readonly cancelled: string;
  /** Hash of live counters: `waiting:<priority>`, `active`. */
  readonly counts: string;
  /** Hash of one job's record. */
  job(id: string): string;
  /** A job's downloadable output (e.g. an export), with a TTL. */
  artifact(id: string): string;
  /** Idempotency marker: holds the job id minted for `key`. */
  idem(key: string): string;
}

/** Builds the keys of queue `queue`, under namespace `ns` (tests use one each). */
export function queueKeys(queue: string, ns?: string): QueueKeys {
  const tag = `{${ns ? `${ns}:` : ""}jobs:${queue}}`;
  const prefix = `${tag}:`;
  const dlq = `${prefix}dlq`;
  const stream = (p: JobPriority): StreamKeys => ({
    name: `jobs:${queue}:${p}`,
    stream: `${prefix}${p}`,
    dlq,
    retrySet: (group) => `${prefix}retry:${group}`,
    retryStream: (group) => `${prefix}retry-stream:${group}`,
    dedupe: (clientId) => `${prefix}dedupe:${clientId}`,
    retention: `${prefix}${p}:retention`,
  });
  return {
    queue,
    prefix,
    streams: { high: stream("high"), normal: stream("normal"), low: stream("low") },
    group: "workers",
    dlq,
    delayed: `${prefix}delayed`,
    completed: `${prefix}completed`,
    failed: `${prefix}failed`,
    paused: `${prefix}paused`,
    held: `${prefix}held`,
    cancelled: `${prefix}cancelled`,
    counts: `${prefix}counts`,
    job: (id) => `${prefix}job:${id}`,
    artifact: (id) => `${prefix}artifact:${id}`,
    idem: (key) => `${prefix}idem:${key}`,
  };
}

/** The queue a job id belongs to: ids are `<queue>.<suffix>`. `undefined` for a malformed id. */
export function queueOfJobId(id: string): string | undefined {
  const dot = id.indexOf(".");
  return dot > 0 ? id.slice(0, dot) : undefined;
}
