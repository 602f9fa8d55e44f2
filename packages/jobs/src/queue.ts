import type { JobPriority } from "@bump/contracts";
import type { RedisClient as Redis } from "@bump/streams";
import { type DeadLetter, listDeadLetters, MessageValidationError } from "@bump/streams";
import type { QueueSpec } from "./definition.ts";
import { type QueueKeys, queueKeys } from "./keys.ts";
import { type StoredJob, toStoredJob } from "./record.ts";
import { type JobScripts, withJobScripts } from "./scripts.ts";

/** Options of {@link Queue.add}. */
export interface AddOptions {
  /** Default `normal`. Higher priorities always start first. */
  priority?: JobPriority;
  /** Start no earlier than this many ms from now. Default 0. */
  delayMs?: number;
  /** The same key (per owner) within the idempotency window yields the same job and enqueues nothing. */
  idempotencyKey?: string;
  /** The user the job belongs to; progress and outcome are reported to them. */
  owner?: string;
}

/** Live counts of a queue. `completed` and `failed` count the records kept by retention. */
export interface QueueCounts {
  waiting: number;
  active: number;
  /** Scheduled for later: delayed jobs and jobs waiting for their next attempt. */
  delayed: number;
  completed: number;
  failed: number;
  /** True while the queue is paused (its waiting jobs stay waiting). */
  paused: boolean;
}

/** A dead letter of a queue, with the job it carried. */
export interface DeadJob extends DeadLetter {
  jobId: string;
}

/**
 * What {@link Queue.cancel} did: `cancelled` (it had not started; it is now failed with error `cancelled`),
 * `cancelling` (it runs; its worker aborts its signal within a poll interval), `not_found`, or `finished`
 * (already completed or failed; left as it is).
 */
export type CancelOutcome = "cancelled" | "cancelling" | "not_found" | "finished";

/** Options of {@link Queue}. */
export interface QueueOptions {
  /** Key namespace (tests use a unique one). Default none. */
  ns?: string;
  /** How long an idempotency key is remembered, ms. Default 86,400,000 (24 h). */
  idempotencyTtlMs?: number;
}

function randomSuffix(): string {
  const b = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/**
 * The producer and admin side of a queue: enqueue, read records, counts, pause and resume, dead letters.
 * Enqueueing is atomic: a resolved `add` means the job's record and its stream entry (or delayed slot) exist.
 */
export class Queue<T = unknown> {
  readonly keys: QueueKeys;
  readonly name: string;
  private readonly redis: Redis & JobScripts;

  constructor(
    redis: Redis,
    readonly definition: Pick<QueueSpec<T>, "name" | "schema" | "attempts" | "retention">,
    private readonly opts: QueueOptions = {},
  ) {
    this.redis = withJobScripts(redis);
    this.name = definition.name;
    this.keys = queueKeys(definition.name, opts.ns);
  }

  /** Checks `data` against the queue's schema; throws {@link MessageValidationError} with field-level issues. */
  validate(data: unknown): T {
    const r = this.definition.schema.safeParse(data);
    if (r.success) return r.data;
    throw new MessageValidationError(
      this.name,
      r.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message })),
    );
  }

  /**
   * Validates and enqueues a job; nothing is written when the data is invalid. Resolves with the job id and
   * whether it was created (false: the idempotency key named an earlier job).
   */
  async add(data: unknown, opts: AddOptions = {}): Promise<{ jobId: string; created: boolean }> {
    const valid = this.validate(data);
    const priority = opts.priority ?? "normal";
    const id = `${this.name}.${randomSuffix()}`;
    const now = Date.now();
    const idem = opts.idempotencyKey;
    const [jobId, created] = await this.redis.addJob(
      this.keys.job(id),
      this.keys.idem(`${opts.owner ?? ""}:${idem ?? ""}`),
      this.keys.streams[priority].stream,
      this.keys.delayed,
      this.keys.counts,
      id,
      JSON.stringify(valid ?? null),
      priority,
      opts.owner ?? "",
      now,
      opts.delayMs ? now + opts.delayMs : 0,
      this.definition.attempts,
      idem ? (this.opts.idempotencyTtlMs ?? 86_400_000) : 0,
    );
    return { jobId, created: created === 1 };
  }

  /**
   * Validates every job first (all or nothing: nothing is written if one is invalid), then enqueues them in one
   * pipeline, in order. Resolves with the ids, as {@link add} would for each.
   */
  async addMany(
    items: readonly { data: unknown; opts?: AddOptions }[],
  ): Promise<{ jobId: string; created: boolean }[]> {
    const valid = items.map((it) => this.validate(it.data));
    const pipe = this.redis.pipeline() as unknown as JobScripts & { exec(): Promise<[Error | null, unknown][] | null> };
    const now = Date.now();
    items.forEach((it, i) => {
      const o = it.opts ?? {};
      const priority = o.priority ?? "normal";
      const id = `${this.name}.${randomSuffix()}`;
      pipe.addJob(
        this.keys.job(id),
        this.keys.idem(`${o.owner ?? ""}:${o.idempotencyKey ?? ""}`),
        this.keys.streams[priority].stream,
        this.keys.delayed,
        this.keys.counts,
        id,
        JSON.stringify(valid[i] ?? null),
        priority,
        o.owner ?? "",
        now,
        o.delayMs ? now + o.delayMs : 0,
        this.definition.attempts,
        o.idempotencyKey ? (this.opts.idempotencyTtlMs ?? 86_400_000) : 0,
      );
    });
    const results = (await pipe.exec()) ?? [];
    return results.map(([err, r]) => {
      if (err) throw err;
      const [jobId, created] = r as [string, number];
      return { jobId, created: created === 1 };
    });
  }

  /** The job's record, or `undefined` when it is unknown or its retention expired. */
  async get(id: string): Promise<StoredJob | undefined> {
    return toStoredJob(id, this.name, await this.redis.hgetall(this.keys.job(id)));
  }

  /** Live counts; a consistent snapshot of each counter, read in one round trip. */
  async counts(): Promise<QueueCounts> {
    const k = this.keys;
    const r = (await this.redis
      .multi()
      .hgetall(k.counts)
      .zcard(k.delayed)
      .zcard(k.completed)
      .zcard(k.failed)
      .exists(k.paused)
      .exec()) as [Error | null, unknown][];
    const c = (r[0]?.[1] ?? {}) as Record<string, string>;
    const n = (v: string | undefined) => Math.max(0, Number(v ?? 0));
    return {
      waiting: n(c["waiting:high"]) + n(c["waiting:normal"]) + n(c["waiting:low"]),
      active: n(c.active),
      delayed: Number(r[1]?.[1] ?? 0),
      completed: Number(r[2]?.[1] ?? 0),
      failed: Number(r[3]?.[1] ?? 0),
      paused: Number(r[4]?.[1] ?? 0) === 1,
    };
  }

  /**
   * Cancels a job. A job not yet running (waiting, delayed or between attempts) fails at once with error
   * `cancelled` and never runs; its owner gets a `failed` update from the next worker poll. A running job is
   * flagged: its worker aborts the handler's signal with a `JobCancelledError` and the job fails with error
   * `cancelled`, without a retry (a run that finishes before the worker sees the flag completes). One script call.
   */
  async cancel(id: string): Promise<CancelOutcome> {
    const k = this.keys;
    return this.redis.cancelJob(k.counts, k.delayed, k.failed, k.cancelled, k.prefix, id, Date.now());
  }

  /** Pauses the queue: workers start no new job until {@link resume}; jobs in flight finish. */
  async pause(): Promise<void> {
    await this.redis.set(this.keys.paused, "1");
  }

  /** Resumes the queue and hands back the jobs read while it was paused. */
  async resume(): Promise<void> {
    await this.redis.resumeQueue(this.keys.paused, this.keys.held, this.keys.counts, this.keys.prefix);
  }

  /** True while paused. */
  async isPaused(): Promise<boolean> {
    return (await this.redis.exists(this.keys.paused)) === 1;
  }

  /** Dead letters of the queue (jobs that failed every attempt), newest first. */
  async listDead(limit = 100): Promise<DeadJob[]> {
    const rows = await listDeadLetters(this.redis, this.keys.streams.normal, limit);
    return rows.map((d) => ({ ...d, jobId: jobIdOf(d.payload) }));
  }

  /**
   * Runs dead-lettered jobs again with fresh attempts (all, up to `limit`, or the given dead-letter ids).
   * Resolves with the number replayed; replaying an id twice replays it once.
   */
  async replay(ids?: readonly string[], limit = 1_000): Promise<number> {
    const dead = ids ?? (await this.redis.xrange(this.keys.dlq, "-", "+", "COUNT", limit)).map(([id]) => id);
    if (!dead.length) return 0;
    return this.redis.replayJobs(this.keys.counts, this.keys.failed, this.keys.dlq, this.keys.prefix, ...dead);
  }

  /** Clears the job's downloadable output (a retried run starts it afresh). */
  async resetArtifact(id: string): Promise<void> {
    await this.redis.del(this.keys.artifact(id));
  }

  /** Appends a chunk to the job's downloadable output, which expires `ttlMs` after the last chunk. */
  async appendArtifact(id: string, chunk: string, ttlMs: number): Promise<void> {
    await this.redis.multi().append(this.keys.artifact(id), chunk).pexpire(this.keys.artifact(id), ttlMs).exec();
  }

  /** The job's downloadable output, or `null` when there is none or it expired. */
  async readArtifact(id: string): Promise<Buffer | null> {
    return this.redis.getBuffer(this.keys.artifact(id));
  }

  /** Applies retention now (workers do it as jobs finish; an idle queue needs this). */
  async trim(): Promise<void> {
    const { completed, failed } = this.definition.retention;
    const k = this.keys;
    await this.redis.takeJobs(
      k.counts,
      k.paused,
      k.held,
      k.delayed,
      k.completed,
      k.failed,
      k.dlq,
      k.prefix,
      Date.now(),
      "",
      k.group,
      0,
      completed.count,
      completed.ageMs,
      failed.count,
      failed.ageMs,
      0,
      0,
    );
  }
}

function jobIdOf(payload: string): string {
  try {
    return String((JSON.parse(payload) as { j?: string }).j ?? "");
  } catch {
    return "";
  }
}
