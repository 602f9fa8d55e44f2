import { hostname } from "node:os";
import type { JobPriority, JobProgress } from "@bump/contracts";
import { type Logger, Registry, silentLogger } from "@bump/service";
import type { RedisClient as Redis } from "@bump/streams";
import { backoffDelay, duplicateForBlocking, nodeFor, trimAcked } from "@bump/streams";
import type { QueueDefinition } from "./definition.ts";
import { JobCancelledError } from "./job-cancelled-error.ts";
import { JobTimeoutError } from "./job-timeout-error.ts";
import { priorities, type QueueKeys, queueKeys } from "./keys.ts";
import { type JobMetrics, jobMetrics } from "./metrics.ts";
import { type JobNotifier, JobRun, type RunHost, type StartedJob } from "./run-job.ts";
import { type JobScripts, type TakeReply, withJobScripts } from "./scripts.ts";

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
   * (as a new attempt; past its attempts it fails for good and is dead-lettered). Keep it above `timeoutMs`.
   * Default `(2 + ceil(prefetch / concurrency)) * timeoutMs + 10,000`.
   */
  stalledMs?: number;
  /** How often lost jobs are looked for, ms. Default 5,000. */
  stalledCheckMs?: number;
  /**
   * How often delayed jobs and due retries are promoted, the paused flag and the cancel flags of the jobs running
   * here are read, and cancellations of jobs that never ran are reported, ms (one round trip). Default 200.
   */
  pollMs?: number;
  /** Longest wait of a job behind higher priorities before it goes back to the tail of its stream. Default 5,000. */
  priorityHoldMs?: number;
  /** Longest block of the read that waits for new jobs when none is waiting, ms. Default 1,000. */
  blockMs?: number;
  /**
   * Entries the waiting read takes beyond the free slots, held here (not started) until a slot frees. Rarely
   * useful: a finishing job already fetches the next in the same call. Default 0.
   */
  prefetch?: number;
  /** How often acked stream entries are trimmed, ms. Default 5,000. */
  trimIntervalMs?: number;
  registry?: Registry;
  logger?: Logger;
}

/** An entry read but not started: from the waiting read, a reclaim, or parked behind a higher priority. */
interface Given {
  id: string;
  entry: string;
  priority: JobPriority;
  reclaimed: boolean;
  /** When it was first parked behind a higher priority (ms), else 0. */
  parkedAt: number;
}

type ReadReply = [string, [string, string[]][]][] | null;

const isPriority = (p: string): p is JobPriority => p === "high" || p === "normal" || p === "low";

/**
 * Runs the jobs of one queue, at most `concurrency` at once, higher priorities first. A worker talks to Redis in
 * one script call per flush: the outcomes of the runs that ended (acked in the same call) and the fetch of as
 * many next jobs as slots are free (up to half the concurrency), so a busy worker spends one round trip per batch
 * of jobs and a worker at concurrency 1 one per job (group commit). Two flushes may be out at once, so Redis
 * records one batch while the jobs of the other run here. Only when no job waits does it block on a read of the
 * priority streams. Delivery is at least once: a job's stream entry stays pending until its outcome is recorded,
 * and a job whose worker died is taken over after `stalledMs` and runs again as a new attempt; a job's record makes a
 * finished job never start again, so a redelivered job completes once in effect. Failed attempts are retried
 * after the queue's backoff; the last failed attempt goes to the dead-letter stream. Pausing stops new starts;
 * runs in flight finish.
 */
export class QueueWorker {
  readonly name: string;
  readonly keys: QueueKeys;
  private readonly redis: Redis & JobScripts;
  private readonly blocking: Redis;
  private blockingId: number | undefined;
  private readonly metrics: JobMetrics;
  private readonly log: Logger;
  private readonly host: RunHost;
  /**
   * Runs started here whose outcome is not yet recorded, oldest first, so their deadlines ascend and one timer
   * serves them all. Their entries are never taken over by this worker's own stalled check.
   */
  private head: JobRun | undefined;
  private tail: JobRun | undefined;
  private deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  /** Runs in {@link head}'s list. */
  private busy = 0;
  /** Runs not yet over: in the list, or recorded with their report to the owner still going. */
  private open = 0;
  /** Runs whose outcome is known, to record in the next flush. */
  private outcomes: JobRun[] = [];
  private given: Given[] = [];
  /** Flush calls out (at most two: Redis records one while the jobs of the other run here). */
  private flushes = 0;
  /** Outcomes sent in the calls out, not yet taken off `busy`. */
  private sent = 0;
  /** Slots the calls out may start jobs in. */
  private reserved = 0;
  /** A call failed: no new flush until its pause has passed. */
  private failing = false;
  private scheduled = false;
  /** The last fetch found fewer jobs than it wanted: wait on the blocking read. */
  private drained = true;
  private reading = false;
  private paused = false;
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private nextStalledCheck = 0;
  private nextTrim = 0;
  private closing: Promise<void> | undefined;

  constructor(
    redis: Redis,
    private readonly def: QueueDefinition<unknown, unknown>,
    private readonly opts: QueueWorkerOptions = {},
  ) {
    this.redis = withJobScripts(redis);
    this.blocking = duplicateForBlocking(redis);
    // outages surface as failed reads, logged by the read loop
    this.blocking.on("error", () => {});
    this.name = opts.name ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    this.keys = queueKeys(def.name, opts.ns);
    this.metrics = jobMetrics(opts.registry ?? new Registry());
    this.log = (opts.logger ?? silentLogger).child({ queue: def.name, worker: this.name });
    this.host = {
      definition: def,
      labels: [def.name],
      metrics: this.metrics,
      log: this.log,
      notify: opts.notify,
      ended: (run) => {
        this.outcomes.push(run);
        this.schedule();
      },
      released: () => {
        this.open--;
      },
      writeProgress: (id, progress) => this.writeProgress(id, progress),
    };
  }

  /** Creates the consumer group when missing, then starts fetching (unless the queue is paused) and polling. */
  async start(): Promise<void> {
    if (this.running) return;
    await this.ensureGroups();
    this.blocking.on("ready", () => void this.refreshBlockingId());
    await this.refreshBlockingId();
    this.paused = (await this.redis.exists(this.keys.paused)) === 1;
    this.running = true;
    this.log.info("queue reading");
    this.schedule();
    void this.tick();
  }

  /** True while the worker runs. */
  ready(): boolean {
    return this.running && !this.closing;
  }

  /** Jobs running in this worker now. */
  get active(): number {
    return this.busy;
  }

  /**
   * Stops starting jobs, hands back the jobs read but not started and waits for the runs in flight and their
   * outcomes; after `abortAfterMs` (default: never) their signals are aborted and the attempts fail (they run
   * again, elsewhere or later). Idempotent.
   */
  close(abortAfterMs?: number): Promise<void> {
    this.closing ??= (async () => {
      this.running = false;
      if (this.timer) clearTimeout(this.timer);
      const force =
        abortAfterMs === undefined
          ? undefined
          : setTimeout(() => {
              for (let run = this.head; run; run = run.next) run.abort(new Error("worker stopping"));
            }, abortAfterMs);
      while (this.reading) {
        const blockingId = this.blockingId;
        if (blockingId !== undefined) {
          await nodeFor(this.redis, this.keys.streams.normal.stream)
            .then((node) => node.call("CLIENT", "UNBLOCK", blockingId))
            .catch(() => {});
        }
        await Bun.sleep(10);
      }
      while (this.open || this.flushes || this.outcomes.length) {
        this.schedule();
        await Bun.sleep(5);
      }
      if (force) clearTimeout(force);
      if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
      await this.handBack().catch((err) => this.log.warn("hand back failed", { err: String(err) }));
      this.blocking.disconnect();
    })();
    return this.closing;
  }

  private async ensureGroups(): Promise<void> {
    for (const p of priorities) {
      try {
        await this.redis.call("XGROUP", "CREATE", this.keys.streams[p].stream, this.keys.group, "0", "MKSTREAM");
      } catch (err) {
        if (!String(err).includes("BUSYGROUP")) throw err;
      }
    }
  }

  private async refreshBlockingId(): Promise<void> {
    try {
      // in a cluster, the id on the server of the queue's slot, where the read blocks
      this.blockingId = Number(
        await (await nodeFor(this.blocking, this.keys.streams.normal.stream)).call("CLIENT", "ID"),
      );
    } catch {
      this.blockingId = undefined;
    }
  }

  /** Runs {@link take} soon (once per turn of the event loop, however many callers ask). */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.take();
    });
  }

  /**
   * Starts flushes while there is something to record or to fetch, up to two at once: each records the outcomes
   * gathered since the last one and fetches up to half the concurrency in one script call, so Redis works on one
   * flush while the jobs the other started run here. When none is out and no job waits, blocks on a read.
   */
  private take(): void {
    while (this.flushes < 2 && !this.failing) {
      const outs = this.outcomes;
      const free = this.def.concurrency - this.busy + this.sent + outs.length - this.reserved;
      const fetching = this.running && !this.paused;
      const now = Date.now();
      const cap = Math.min(free, Math.ceil(this.def.concurrency / 2));
      const given = fetching ? this.dueGiven(cap, now) : [];
      const want = fetching && (!this.drained || given.length) ? Math.max(0, cap) : 0;
      if (!outs.length && !given.length && !want) break;
      this.outcomes = [];
      this.flushes++;
      this.sent += outs.length;
      this.reserved += want;
      void this.flush(outs, given, want, now);
    }
    if (!this.flushes) this.maybeRead();
  }

  /**
   * One script call: records `outs`, starts `given` and up to `want` jobs from the streams. Never throws: a failed
   * call is logged and its outcomes and entries are sent again after a pause.
   */
  private async flush(outs: JobRun[], given: Given[], want: number, now: number): Promise<void> {
    let reply: TakeReply | undefined;
    try {
      reply = await this.call(outs, given, want, now);
      this.failures = 0;
    } catch (err) {
      this.failing = true;
      this.failures++;
      this.log.error("job fetch failed", { err: String(err) });
    }
    this.sent -= outs.length;
    this.reserved -= want;
    if (reply) {
      const codes = reply[0];
      for (let i = 0; i < outs.length; i++) {
        const run = outs[i] as JobRun;
        this.unlink(run);
        run.settled(codes.charCodeAt(i) - 48);
      }
      this.apply(reply, given);
      if (want) this.drained = reply[2] > 0;
    } else {
      this.outcomes = outs.concat(this.outcomes);
      this.given = given.concat(this.given);
      await Bun.sleep(Math.min(50 * 2 ** Math.min(this.failures, 5), 2_000));
      this.failing = false;
    }
    this.flushes--;
    this.take();
  }

  /** Given entries that may go to the script now: up to `free`, parked ones after a short pause. */
  private dueGiven(free: number, now: number): Given[] {
    if (!this.given.length || free <= 0) return [];
    const out: Given[] = [];
    const rest: Given[] = [];
    for (const g of this.given) {
      if (out.length < free && (g.parkedAt === 0 || now - g.parkedAt >= 20)) out.push(g);
      else rest.push(g);
    }
    this.given = rest;
    return out;
  }

  private call(outs: JobRun[], given: Given[], want: number, now: number): Promise<TakeReply> {
    const k = this.keys;
    const { completed, failed } = this.def.retention;
    const argv: (string | number)[] = [
      k.prefix,
      now,
      this.name,
      k.group,
      want,
      completed.count,
      now - completed.ageMs,
      failed.count,
      now - failed.ageMs,
      100_000,
      outs.length,
    ];
    for (const run of outs) {
      const s = run.started;
      const due = run.outcome === "r" ? now + backoffDelay(s.attempt, this.def.backoff) : 0;
      argv.push(`${s.id} ${s.attempt} ${run.outcome} ${s.entry} ${s.priority} ${due} ${run.payload}`);
    }
    for (const g of given) argv.push(g.id, g.entry, g.priority, g.reclaimed ? 1 : 0);
    return this.redis.takeJobs(k.counts, k.paused, k.held, k.delayed, k.completed, k.failed, k.dlq, ...argv);
  }

  /** Runs the jobs the script started and parks those behind a higher priority. */
  private apply(reply: TakeReply, given: Given[]): void {
    if (!reply[1]) return;
    const heads = reply[1].split(" ");
    const now = Date.now();
    let started = 0;
    let d = 3;
    for (let i = 0; i + 4 < heads.length; i += 5) {
      const code = heads[i];
      const id = heads[i + 1] as string;
      const entry = heads[i + 2] as string;
      const priority = heads[i + 3] as string;
      if (!isPriority(priority)) continue;
      if (code === "0") {
        const job: StartedJob = { id, entry, attempt: Number(heads[i + 4]), priority, data: null };
        const data = reply[d] as string;
        const owner = reply[d + 1] as string;
        d += 2;
        if (owner) job.owner = owner;
        if (data) {
          try {
            job.data = JSON.parse(data);
          } catch {}
        }
        this.run(job, now);
        started++;
      } else if (code === "3") {
        const g = given.find((x) => x.entry === entry) ?? { id, entry, priority, reclaimed: false, parkedAt: 0 };
        g.parkedAt ||= now;
        if (now - g.parkedAt >= (this.opts.priorityHoldMs ?? 5_000) || !this.running) void this.requeue([g]);
        else {
          this.given.push(g);
          setTimeout(() => this.schedule(), 25);
        }
      }
    }
    if (started) this.metrics.started.inc(this.host.labels, started);
  }

  private run(job: StartedJob, now: number): void {
    const run = new JobRun(this.host, job, now + this.def.timeoutMs);
    this.busy++;
    this.open++;
    run.prev = this.tail;
    if (this.tail) this.tail.next = run;
    else this.head = run;
    this.tail = run;
    this.deadlineTimer ??= setTimeout(() => this.expire(), this.def.timeoutMs);
    run.start();
  }

  /** Takes a run whose outcome is recorded out of the list. */
  private unlink(run: JobRun): void {
    if (run.prev) run.prev.next = run.next;
    else this.head = run.next;
    if (run.next) run.next.prev = run.prev;
    else this.tail = run.prev;
    run.prev = run.next = undefined;
    this.busy--;
    if (!this.head && this.deadlineTimer) {
      clearTimeout(this.deadlineTimer);
      this.deadlineTimer = undefined;
    }
  }

  /** Aborts the runs past their deadline; waits for the next deadline. */
  private expire(): void {
    this.deadlineTimer = undefined;
    const now = Date.now();
    let run = this.head;
    for (; run && run.deadline <= now; run = run.next) {
      run.abort(new JobTimeoutError(run.started.id, this.def.timeoutMs));
    }
    if (run) this.deadlineTimer = setTimeout(() => this.expire(), run.deadline - now);
  }

  /** Blocks on the priority streams while no job waits and slots are free; hands what it reads to {@link take}. */
  private maybeRead(): void {
    const free = this.def.concurrency - this.busy - this.given.length;
    if (this.reading || !this.running || this.paused || !this.drained || free <= 0) return;
    this.reading = true;
    void (async () => {
      const s = this.keys.streams;
      try {
        const reply = (await this.blocking.call(
          "XREADGROUP",
          "GROUP",
          this.keys.group,
          this.name,
          "COUNT",
          free + (this.opts.prefetch ?? 0),
          "BLOCK",
          this.opts.blockMs ?? 1_000,
          "STREAMS",
          s.high.stream,
          s.normal.stream,
          s.low.stream,
          ">",
          ">",
          ">",
        )) as ReadReply;
        this.drained = false;
        for (const [key, entries] of reply ?? []) {
          const priority = priorities.find((p) => s[p].stream === key) ?? "normal";
          for (const [entry, fields] of entries) {
            const id = /"j":"([^"]+)"/.exec(fields[1] ?? "")?.[1] ?? "";
            this.given.push({ id, entry, priority, reclaimed: false, parkedAt: 0 });
          }
        }
        // high first: the script starts given entries in order
        this.given.sort((a, b) => priorities.indexOf(a.priority) - priorities.indexOf(b.priority));
      } catch (err) {
        this.log.error("job read failed", { err: String(err) });
        if (String(err).includes("NOGROUP")) await this.ensureGroups().catch(() => {});
        await Bun.sleep(200);
      } finally {
        this.reading = false;
      }
      this.schedule();
    })();
  }

  /**
   * Promotes due delayed jobs and retries, follows the paused flag, aborts runs whose job was cancelled, reports
   * cancellations of jobs that never ran, takes over stalled jobs and trims acked entries; never throws.
   */
  private async tick(): Promise<void> {
    if (!this.running) return;
    let next = this.opts.pollMs ?? 200;
    try {
      const limit = 1_000;
      const ids = this.runningIds();
      const [[moved, due], paused, flags, cancelled] = await Promise.all([
        this.redis.promoteDelayed(this.keys.delayed, this.keys.counts, this.keys.prefix, Date.now(), limit),
        this.redis.exists(this.keys.paused),
        this.cancelFlags(ids),
        this.opts.notify ? this.redis.lpop(this.keys.cancelled, 100) : null,
      ]);
      if (moved >= limit) next = 0;
      else if (due > 0) next = Math.max(0, Math.min(next, due - Date.now()));
      if (moved > 0) this.drained = false;
      const wasPaused = this.paused;
      this.paused = paused === 1;
      if (wasPaused !== this.paused) this.log.info(this.paused ? "queue paused" : "queue resumed");
      this.abortCancelled(ids, flags);
      if (cancelled?.length) await this.reportCancelled(cancelled);
      const now = Date.now();
      if (now >= this.nextStalledCheck) {
        this.nextStalledCheck = now + (this.opts.stalledCheckMs ?? 5_000);
        await this.reclaim();
      }
      const trimEvery = this.opts.trimIntervalMs ?? 5_000;
      if (trimEvery > 0 && now >= this.nextTrim) {
        this.nextTrim = now + trimEvery;
        for (const p of priorities) await trimAcked(this.redis, this.keys.streams[p]);
      }
      if (!this.paused) this.schedule();
    } catch (err) {
      this.log.error("queue tick failed", { err: String(err) });
    }
    if (this.running) this.timer = setTimeout(() => void this.tick(), next);
  }

  /** Takes over the entries of jobs whose worker has held them past `stalledMs` and hands them to {@link take}. */
  private async reclaim(): Promise<void> {
    const concurrency = this.def.concurrency;
    const idle =
      this.opts.stalledMs ?? (2 + Math.ceil((this.opts.prefetch ?? 0) / concurrency)) * this.def.timeoutMs + 10_000;
    let count = 0;
    const mine = new Set<string>();
    for (let run = this.head; run; run = run.next) mine.add(run.started.entry);
    for (const g of this.given) mine.add(g.entry);
    for (const p of priorities) {
      const key = this.keys.streams[p].stream;
      const rows = (await this.redis.call("XPENDING", key, this.keys.group, "IDLE", idle, "-", "+", 100)) as [
        string,
        string,
        number,
        number,
      ][];
      const ids = rows.filter(([id]) => !mine.has(id)).map(([id]) => id);
      if (!ids.length) continue;
      const claimed = (await this.redis.call("XCLAIM", key, this.keys.group, this.name, idle, ...ids)) as [
        string,
        string[] | null,
      ][];
      for (const [entry, fields] of claimed) {
        const id = /"j":"([^"]+)"/.exec(fields?.[1] ?? "")?.[1];
        if (!id) {
          await this.redis.xack(key, this.keys.group, entry);
          continue;
        }
        this.given.push({ id, entry, priority: p, reclaimed: true, parkedAt: 0 });
        count++;
      }
    }
    if (count) {
      this.log.warn("took over stalled jobs", { count });
      this.schedule();
    }
  }

  /** Hands the entries read here but not started back to their streams (at close). */
  private async handBack(): Promise<void> {
    const list = this.given;
    this.given = [];
    if (list.length) await this.requeue(list);
  }

  private async requeue(list: Given[]): Promise<void> {
    const argv: string[] = [this.keys.prefix, this.keys.group];
    for (const g of list) argv.push(g.id, g.entry, g.priority);
    try {
      await this.redis.requeueJobs(this.keys.counts, ...argv);
    } catch (err) {
      this.log.warn("requeue failed; the entries are taken over later", { err: String(err) });
    }
  }

  /** The cancel flag of each job id, in one pipeline. */
  private async cancelFlags(ids: string[]): Promise<(string | null)[]> {
    if (!ids.length) return [];
    const pipe = this.redis.pipeline();
    for (const id of ids) pipe.hget(this.keys.job(id), "k");
    const res = (await pipe.exec()) ?? [];
    return res.map(([err, v]) => (err ? null : (v as string | null)));
  }

  /** Ids of the jobs whose runs here have no outcome yet. */
  private runningIds(): string[] {
    const ids = new Set<string>();
    for (let run = this.head; run; run = run.next) if (run.running) ids.add(run.started.id);
    return [...ids];
  }

  private abortCancelled(ids: string[], flags: (string | null)[]): void {
    const flagged = new Set(ids.filter((_, i) => flags[i]));
    if (!flagged.size) return;
    for (let run = this.head; run; run = run.next) {
      if (flagged.has(run.started.id)) run.abort(new JobCancelledError(run.started.id));
    }
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

  private async writeProgress(id: string, progress: JobProgress): Promise<void> {
    await this.redis.hset(this.keys.job(id), "g", JSON.stringify(progress));
  }
}
