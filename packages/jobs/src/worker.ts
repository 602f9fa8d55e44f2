import { hostname } from "node:os";
import type { JobPriority, JobProgress } from "@bump/contracts";
import { type Logger, Registry, silentLogger } from "@bump/service";
import type { RedisClient as Redis } from "@bump/streams";
import { Consumer, compareIds, listDeadLetters, type Message } from "@bump/streams";
import { z } from "zod";
import { Batcher } from "./batcher.ts";
import type { QueueDefinition } from "./definition.ts";
import { JobCancelledError } from "./job-cancelled-error.ts";
import { priorities, type QueueKeys, queueKeys } from "./keys.ts";
import { type JobMetrics, jobMetrics } from "./metrics.ts";
import { type JobNotifier, runJob, type StartedJob } from "./run-job.ts";
import { type JobScripts, withJobScripts } from "./scripts.ts";
import { SlotPool } from "./slot-pool.ts";

/** Options of {@link QueueWorker}. */
export interface QueueWorkerOptions {
  /** Key namespace; must match the {@link Queue}'s. Default none. */
  ns?: string;
  /** Reports progress and outcome to a job's owner. Default none. */
  notify?: JobNotifier;
  /** Worker name, unique per process. Default `host-pid-random`. */
  name?: string;
  /**
   * A job whose worker has not finished it after this long is taken to be lost with its worker and runs again
   * (as a new attempt). Keep it above `timeoutMs`. Default `(2 + ceil(prefetch / concurrency)) * timeoutMs + 10,000`.
   */
  stalledMs?: number;
  /** How often lost jobs are looked for, ms. Default 5,000. */
  stalledCheckMs?: number;
  /**
   * How often delayed jobs are promoted, the paused flag and the cancel flags of the jobs running here are read,
   * and cancellations of jobs that never ran are reported, ms (one round trip). Default 200.
   */
  pollMs?: number;
  /** Longest wait of a job behind higher priorities before it goes back to the tail of its stream. Default 5,000. */
  priorityHoldMs?: number;
  /** Longest block of one stream read, ms. Default 1,000. */
  blockMs?: number;
  /**
   * Readers per priority stream; more readers overlap reads and acks with running jobs (the slot pool still
   * bounds concurrency). Default 2 when concurrency >= 16, else 1.
   */
  readers?: number;
  /**
   * Entries each reader takes beyond its share of the concurrency, so the next job is at hand when a slot frees
   * (fewer round trips per job at low concurrency). Read-ahead entries wait for a slot, so the default
   * `stalledMs` grows with it. Default 0.
   */
  prefetch?: number;
  /** How often acked stream entries are trimmed, ms. Default 5,000. */
  trimIntervalMs?: number;
  registry?: Registry;
  logger?: Logger;
}

const entrySchema = z.object({ j: z.string().min(1) });
type Entry = z.infer<typeof entrySchema>;

interface StartRequest {
  id: string;
  entry: string;
  attempt: number;
}
interface StartAnswer {
  code: number;
  data: string;
  owner: string;
}

/**
 * Runs the jobs of one queue: reads its three priority streams through the bus runtime (consumer groups with
 * retries, backoff, dead letters and reclaiming of lost runs), at most `concurrency` jobs at once, higher
 * priorities first. Delivery is at least once; a job's record makes a finished job never start again, so a
 * redelivered job completes once in effect. Pausing stops new starts; runs in flight finish.
 */
export class QueueWorker {
  readonly name: string;
  readonly keys: QueueKeys;
  private readonly redis: Redis & JobScripts;
  private readonly pool: SlotPool;
  private readonly metrics: JobMetrics;
  private readonly log: Logger;
  private readonly inFlight = new Map<(reason: unknown) => void, string>();
  private readonly starters: Record<JobPriority, Batcher<StartRequest, StartAnswer>>;
  private readonly settler: Batcher<[string, number, string, string], number>;
  private consumers: Consumer<Entry>[] = [];
  private switching: Promise<void> = Promise.resolve();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private deadCursor = `${Date.now() - 3_600_000}-0`;
  private nextDeadCheck = 0;
  private readonly readers: number;
  private closing: Promise<void> | undefined;

  constructor(
    redis: Redis,
    private readonly def: QueueDefinition<unknown, unknown>,
    private readonly opts: QueueWorkerOptions = {},
  ) {
    this.redis = withJobScripts(redis);
    this.name = opts.name ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    this.keys = queueKeys(def.name, opts.ns);
    this.pool = new SlotPool(def.concurrency);
    this.readers = Math.max(1, opts.readers ?? (def.concurrency >= 16 ? 2 : 1));
    this.metrics = jobMetrics(opts.registry ?? new Registry());
    this.log = (opts.logger ?? silentLogger).child({ queue: def.name, worker: this.name });
    const starter = (p: JobPriority) => new Batcher<StartRequest, StartAnswer>((reqs) => this.startMany(p, reqs));
    this.starters = { high: starter("high"), normal: starter("normal"), low: starter("low") };
    this.settler = new Batcher((items) => this.settleMany(items));
  }

  /** Starts reading (unless the queue is paused) and promoting delayed jobs. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    if (!(await this.redis.exists(this.keys.paused))) await this.startConsumers();
    void this.tick();
  }

  /** True while the worker runs and, unless the queue is paused, its stream readers run. */
  ready(): boolean {
    return this.running && !this.closing;
  }

  /** Jobs running in this worker now. */
  get active(): number {
    return this.pool.inUse;
  }

  /**
   * Stops starting jobs and waits for the runs in flight; after `abortAfterMs` (default: never) their signals
   * are aborted and the attempts fail (they run again elsewhere). Idempotent.
   */
  close(abortAfterMs?: number): Promise<void> {
    this.closing ??= (async () => {
      this.running = false;
      if (this.timer) clearTimeout(this.timer);
      const force =
        abortAfterMs === undefined
          ? undefined
          : setTimeout(() => {
              for (const abort of this.inFlight.keys()) abort(new Error("worker stopping"));
            }, abortAfterMs);
      await this.switching;
      await this.stopConsumers();
      if (force) clearTimeout(force);
    })();
    return this.closing;
  }

  private consumerFor(p: JobPriority, reader: number): Consumer<Entry> {
    const timeout = this.def.timeoutMs;
    return new Consumer<Entry>({
      redis: this.redis,
      keys: this.keys.streams[p],
      group: p,
      consumer: reader ? `${this.name}-${reader}` : this.name,
      schema: entrySchema,
      batchSize: Math.max(1, Math.ceil(this.def.concurrency / this.readers)) + (this.opts.prefetch ?? 0),
      blockMs: this.opts.blockMs ?? 1_000,
      maxAttempts: this.def.attempts,
      backoff: this.def.backoff,
      claimIdleMs:
        this.opts.stalledMs ?? (2 + Math.ceil((this.opts.prefetch ?? 0) / this.def.concurrency)) * timeout + 10_000,
      claimIntervalMs: this.opts.stalledCheckMs ?? 5_000,
      trimIntervalMs: this.opts.trimIntervalMs ?? 5_000,
      registry: this.opts.registry,
      logger: this.opts.logger,
      handler: (batch) => this.handle(p, batch),
    });
  }

  private async startConsumers(): Promise<void> {
    if (this.consumers.length) return;
    const list = priorities.flatMap((p) => Array.from({ length: this.readers }, (_, r) => this.consumerFor(p, r)));
    this.consumers = list;
    await Promise.all(list.map((c) => c.start()));
    this.log.info("queue reading");
  }

  private async stopConsumers(): Promise<void> {
    const list = this.consumers;
    this.consumers = [];
    await Promise.all(list.map((c) => c.close()));
  }

  /**
   * Promotes due delayed jobs, follows the paused flag, aborts runs whose job was cancelled and reports
   * cancellations of jobs that never ran; never throws.
   */
  private async tick(): Promise<void> {
    if (!this.running) return;
    let next = this.opts.pollMs ?? 200;
    try {
      const limit = 1_000;
      const ids = [...new Set(this.inFlight.values())];
      const [[, moved], paused, flags, cancelled] = await Promise.all([
        this.redis.promoteDelayed(this.keys.delayed, this.keys.counts, this.keys.prefix, Date.now(), limit),
        this.redis.exists(this.keys.paused),
        this.cancelFlags(ids),
        this.opts.notify ? this.redis.lpop(this.keys.cancelled, 100) : null,
      ]);
      if (moved >= limit) next = 0;
      this.abortCancelled(ids, flags);
      if (cancelled?.length) await this.reportCancelled(cancelled);
      if (Date.now() >= this.nextDeadCheck) {
        this.nextDeadCheck = Date.now() + (this.opts.stalledCheckMs ?? 5_000);
        await this.settleBuried();
      }
      if (this.running) {
        if (paused && this.consumers.length) {
          this.log.info("queue paused: stopping reads");
          this.switching = this.stopConsumers();
        } else if (!paused && !this.consumers.length) {
          this.switching = this.startConsumers();
        }
        await this.switching;
      }
    } catch (err) {
      this.log.error("queue tick failed", { err: String(err) });
    }
    if (this.running) this.timer = setTimeout(() => void this.tick(), next);
  }

  /** The cancel flag of each job id, in one pipeline. */
  private async cancelFlags(ids: string[]): Promise<(string | null)[]> {
    if (!ids.length) return [];
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hget(this.keys.job(id), "k");
    const res = (await pipe.exec()) ?? [];
    return res.map(([err, v]) => (err ? null : (v as string | null)));
  }

  private abortCancelled(ids: string[], flags: (string | null)[]): void {
    const flagged = new Set(ids.filter((_, i) => flags[i]));
    if (!flagged.size) return;
    for (const [abort, id] of this.inFlight) if (flagged.has(id)) abort(new JobCancelledError(id));
  }

  /** Tells owners that their jobs were cancelled before they ran; a failing notify is logged, not retried. */
  private async reportCancelled(items: string[]): Promise<void> {
    const notify = this.opts.notify;
    if (!notify) return;
    for (const raw of items) {
      try {
        const { j, o } = JSON.parse(raw) as { j: string; o: string };
        await notify(o, { id: j, queue: this.def.name, state: "failed", error: "cancelled" });
      } catch (err) {
        this.log.warn("cancel notify failed", { err: String(err) });
      }
    }
  }

  private async handle(p: JobPriority, batch: Message<Entry>[]) {
    const outcomes = await Promise.all(batch.map((m) => this.handleOne(p, m).catch((err: unknown) => err ?? "error")));
    const failed = batch.flatMap((message, i) => (outcomes[i] === undefined ? [] : [{ message, error: outcomes[i] }]));
    return { failed };
  }

  /** Resolves with `undefined` when the entry is done with (ran, skipped, held or requeued), else the error. */
  private async handleOne(p: JobPriority, m: Message<Entry>): Promise<unknown> {
    const req: StartRequest = { id: m.data.j, entry: m.id, attempt: m.attempt };
    const since = Date.now();
    for (;;) {
      await this.pool.acquire(p);
      let answer: StartAnswer;
      try {
        answer = await this.starters[p].push(req);
      } catch (err) {
        this.pool.release();
        throw err;
      }
      if (answer.code === 0) {
        const started: StartedJob = { id: req.id, attempt: req.attempt, priority: p, data: undefined };
        if (answer.owner) started.owner = answer.owner;
        try {
          started.data = JSON.parse(answer.data || "null");
          return await runJob(
            {
              definition: this.def,
              settle: (id, attempt, kind, payload) => this.settler.push([id, attempt, kind, payload]),
              writeProgress: (id, progress) => this.writeProgress(id, progress),
              notify: this.opts.notify,
              metrics: this.metrics,
              log: this.log,
              inFlight: this.inFlight,
            },
            started,
          );
        } finally {
          this.pool.release();
        }
      }
      this.pool.release();
      if (answer.code !== 3) return undefined;
      if (Date.now() - since >= (this.opts.priorityHoldMs ?? 5_000) || !this.running) {
        await this.redis.requeueJobs(this.keys.counts, this.keys.prefix, req.id, req.entry);
        return undefined;
      }
      await Bun.sleep(20);
    }
  }

  private async startMany(p: JobPriority, reqs: StartRequest[]): Promise<StartAnswer[]> {
    const argv: (string | number)[] = [this.keys.prefix, Date.now(), this.name, p];
    for (const r of reqs) argv.push(r.id, r.entry, r.attempt);
    const flat = await this.redis.startJobs(this.keys.counts, this.keys.paused, this.keys.held, ...argv);
    return reqs.map((_, i) => ({
      code: Number(flat[i * 4]),
      data: String(flat[i * 4 + 1] ?? ""),
      owner: String(flat[i * 4 + 2] ?? ""),
    }));
  }

  private async settleMany(items: [string, number, string, string][]): Promise<number[]> {
    const { completed, failed } = this.def.retention;
    const argv: (string | number)[] = [
      this.keys.prefix,
      Date.now(),
      completed.count,
      completed.ageMs,
      failed.count,
      failed.ageMs,
    ];
    for (const it of items) argv.push(...it);
    return this.redis.settleJobs(this.keys.counts, this.keys.completed, this.keys.failed, ...argv);
  }

  /**
   * Marks failed the jobs whose entries the bus buried without a run settling them (lost with their worker on
   * the last attempt). Looks at the newest 200 dead letters each time.
   */
  private async settleBuried(): Promise<void> {
    const dead = await listDeadLetters(this.redis, this.keys.streams.normal, 200);
    const fresh = dead.filter((d) => compareIds(d.id, this.deadCursor) > 0);
    if (!fresh.length) return;
    const argv: (string | number)[] = [this.keys.prefix, Date.now()];
    for (const d of fresh) {
      let id = "";
      try {
        id = String((JSON.parse(d.payload) as { j?: string }).j ?? "");
      } catch {}
      if (id) argv.push(id, d.originalId, d.error.slice(0, 1_000));
    }
    if (argv.length > 2) await this.redis.buryJobs(this.keys.counts, this.keys.failed, ...argv);
    this.deadCursor = fresh[0]?.id ?? this.deadCursor;
  }

  private async writeProgress(id: string, progress: JobProgress): Promise<void> {
    await this.redis.hset(this.keys.job(id), "g", JSON.stringify(progress));
  }
}
