import { hostname } from "node:os";
import { type Logger, Registry, silentLogger } from "@bump/service";
import type { ZodType } from "zod";
import { type BackoffOptions, backoffDelay } from "./backoff.ts";
import { ascii, decode, fieldOf, type RawEntryBytes } from "./codec.ts";
import { duplicateForBlocking, nodeFor, type RedisClient as Redis } from "./connection.ts";
import type { StreamKeys } from "./keys.ts";
import { type StreamMetrics, streamMetrics } from "./metrics.ts";
import { reclaimPending } from "./reclaim.ts";
import { type StreamScripts, withScripts } from "./scripts.ts";
import { trimAcked } from "./trim.ts";

/** One entry handed to a handler. */
export interface Message<T> {
  /** Id of the entry in the shared stream; stable across retries and replays, so use it for idempotency. */
  readonly id: string;
  /** The validated payload. */
  readonly data: T;
  /** 1 on the first delivery; counts retries and deliveries to consumers that died. */
  readonly attempt: number;
}

/** Entries of a batch that failed; the others count as done and are acked. */
export interface BatchResult<T> {
  failed?: { message: Message<T>; error: unknown }[];
  /**
   * The batch's remaining work (say, its writes to Redis): the consumer hands the handler the next batch meanwhile
   * and settles this one only once it resolves (failing the whole batch when it rejects). At most one batch is
   * outstanding so; handlers keep their own order between the pending work of successive batches.
   */
  pending?: Promise<void>;
}

/**
 * Handles a batch. Resolving acks the batch except the entries it lists as failed; throwing fails the whole batch.
 * Failed entries are retried for this group alone, with backoff, then dead-lettered.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: handlers that settle the whole batch return nothing
export type BatchHandler<T> = (batch: Message<T>[]) => Promise<BatchResult<T> | void>;

/** Options of {@link Consumer}. */
export interface ConsumerOptions<T> {
  /** Connection for non-blocking commands (acks, scripts). */
  redis: Redis;
  /** Connection for the blocking read; default a duplicate of `redis`, owned and closed by the consumer. */
  blocking?: Redis;
  keys: StreamKeys;
  group: string;
  /** Consumer name, unique per process. Default `host-pid-random`. */
  consumer?: string;
  /** Entries failing it go straight to the dead-letter stream and never reach the handler. */
  schema?: ZodType<T>;
  /**
   * A fast check of a parsed payload tried before `schema`: what it returns is handed on as is, so it must accept
   * only values the schema accepts (and return them as the schema would); undefined falls back to the schema.
   */
  accept?: (json: unknown) => T | undefined;
  /**
   * A fast decoder of a payload's bytes tried first (before the text is built): what it returns is handed on as
   * is, so it must return only what `accept` or the schema would; undefined falls back to the text path.
   */
  decodeBytes?: (payload: Buffer) => T | undefined;
  handler: BatchHandler<T>;
  /** Entries per read. Default 200; see {@link Consumer.setBatchSize}. */
  batchSize?: number;
  /**
   * After a full batch, read the next one while the handler runs (still handled in stream order, one batch at a
   * time). Default false.
   */
  readAhead?: boolean;
  /** Longest block of one read, ms. Default 1000. */
  blockMs?: number;
  /** Attempts before an entry is dead-lettered. Default 5. */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  /** A pending entry idle this long belongs to a dead consumer and is reclaimed. Default 30,000 ms. */
  claimIdleMs?: number;
  /** How often pending entries are checked for reclaiming. Default 5,000 ms. */
  claimIntervalMs?: number;
  /** Where a new group starts: `0` (everything in the stream, the default) or `$` (only new entries). */
  startId?: string;
  /** Trim acked entries every this many ms (0 = never). Default 5,000 ms. */
  trimIntervalMs?: number;
  /** Keep at least this last window of entries when trimming. Default 0. */
  retainMs?: number;
  /** Cap of the dead-letter stream (approximate). Default 100,000. */
  dlqMaxLen?: number;
  registry?: Registry;
  logger?: Logger;
}

interface Envelope<T> extends Message<T> {
  readonly entryId: string;
  /** The payload as read: text, or bytes from a buffer read. */
  readonly payload: Buffer | string;
  readonly fromRetry: boolean;
}

type ReadReply = [Buffer | string, RawEntryBytes[]][] | null;

/**
 * A consumer-group loop over a stream and the group's own retry stream. Delivery is at least once: an entry is
 * acked only after its handler succeeded, retried (this group only) or dead-lettered. A consumer that dies leaves
 * its entries pending; another consumer of the group reclaims them after `claimIdleMs` and handles them one at a
 * time, counting each delivery as an attempt, so an entry that kills every consumer ends in the dead-letter stream
 * after `maxAttempts` deliveries without taking its batch-mates along. When Redis goes away the loop reconnects on
 * its own and then handles its own entries whose reply or ack the broken connection lost. Errors never escape the
 * loop: they are logged, counted and the loop goes on.
 */
export class Consumer<T> {
  readonly name: string;
  private readonly redis: Redis & StreamScripts;
  private readonly blocking: Redis;
  private readonly ownsBlocking: boolean;
  private readonly metrics: StreamMetrics;
  private readonly log: Logger;
  private readonly labels: [string, string];
  private readonly retryStream: string;
  private running = false;
  private loop: Promise<void> | undefined;
  private blockingId: number | undefined;
  private reading = false;
  private nextMoveAt = 0;
  private nextRetryDue = -1;
  private nextClaimAt = 0;
  private nextTrimAt = 0;
  /** The trim in progress, run beside the reads. */
  private trimming: Promise<void> | undefined;
  /** Set at start, on reconnect and after a loop error: this consumer's own pending entries are orphans then. */
  private recoverOwn = true;
  /** The next read, issued while the handler runs on the last one (`readAhead`). */
  private ahead: Promise<ReadReply> | undefined;
  /** The settle of the last batch whose handler left work pending, in flight while the next batch is handled. */
  private deferred: Promise<void> | undefined;
  /** The settle pipeline of the last batch, in flight while the next batch is read. */
  private acking: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private batchSize: number;

  constructor(private readonly opts: ConsumerOptions<T>) {
    this.batchSize = opts.batchSize ?? 200;
    this.name = opts.consumer ?? `${hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    this.redis = withScripts(opts.redis);
    this.ownsBlocking = !opts.blocking;
    this.blocking = opts.blocking ?? duplicateForBlocking(opts.redis);
    // outages surface as failed reads, counted in bus_loop_errors_total
    if (this.ownsBlocking) this.blocking.on("error", () => {});
    this.metrics = streamMetrics(opts.registry ?? new Registry());
    this.log = (opts.logger ?? silentLogger).child({ stream: opts.keys.name, group: opts.group, consumer: this.name });
    this.labels = [opts.keys.name, opts.group];
    this.retryStream = opts.keys.retryStream(opts.group);
  }

  /**
   * Changes the entries per read from the next read on (at least 1), as for entries whose size varies: a handler
   * that knows what an entry holds can keep the work of a read about even.
   */
  setBatchSize(entries: number): void {
    this.batchSize = Math.max(1, Math.floor(entries));
  }

  /** True while the loop runs. */
  get isRunning(): boolean {
    return this.running;
  }

  /** Creates the group (and its retry stream) when missing, then starts the loop. */
  async start(): Promise<void> {
    if (this.running) return;
    await this.ensureGroups();
    // The first "ready" of a connection still connecting is no reconnect: the loop starts recovering its own
    // entries anyway, and a second recovery would wait for the pending work of a batch already handled.
    let connected = this.blocking.status === "ready";
    this.blocking.on("ready", () => {
      if (connected) this.recoverOwn = true;
      connected = true;
      void this.refreshBlockingId();
    });
    await this.refreshBlockingId();
    this.running = true;
    this.loop = this.run();
  }

  /** Stops reading, finishes and acks the batch in flight, then releases the connection. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.running = false;
      // A read may start between the flag and an unblock: keep unblocking until the loop has ended.
      let ended = false;
      const done = (this.loop ?? Promise.resolve()).finally(() => {
        ended = true;
      });
      while (!ended) {
        if (this.reading && this.blockingId !== undefined) {
          const blockingId = this.blockingId;
          await nodeFor(this.redis, this.opts.keys.stream)
            .then((node) => node.call("CLIENT", "UNBLOCK", blockingId))
            .catch(() => {});
        }
        await Promise.race([done, Bun.sleep(50)]);
      }
      await this.trimming;
      if (this.ownsBlocking) this.blocking.disconnect();
    })();
    return this.closing;
  }

  private async refreshBlockingId(): Promise<void> {
    try {
      // in a cluster, the id on the server of the stream's slot, where the read blocks
      this.blockingId = Number(await (await nodeFor(this.blocking, this.opts.keys.stream)).call("CLIENT", "ID"));
    } catch {
      this.blockingId = undefined;
    }
  }

  private async ensureGroups(): Promise<void> {
    const create = async (key: string, start: string) => {
      try {
        await this.redis.call("XGROUP", "CREATE", key, this.opts.group, start, "MKSTREAM");
      } catch (err) {
        if (!String(err).includes("BUSYGROUP")) throw err;
      }
    };
    await create(this.opts.keys.stream, this.opts.startId ?? "0");
    // The group's retention window binds every trimmer of the stream, not only this group's consumers.
    if (this.opts.retainMs) await this.redis.hset(this.opts.keys.retention, this.opts.group, this.opts.retainMs);
    else await this.redis.hdel(this.opts.keys.retention, this.opts.group);
    await create(this.retryStream, "0");
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      try {
        await this.housekeeping();
        const next = this.ahead ?? this.read();
        this.ahead = undefined;
        // the acks of the last batch travel while the next batch is read; entries read when those acks failed stay
        // pending for this consumer and are recovered after the error
        const [read, acked] = await Promise.allSettled([next, this.flushAcks()]);
        if (acked.status === "rejected") throw acked.reason;
        if (read.status === "rejected") throw read.reason;
        if (read.value) {
          if (this.opts.readAhead && this.running && this.isFull(read.value)) {
            this.ahead = this.read();
            this.ahead.catch(() => {}); // handled where it is awaited
          }
          await this.process(read.value, 1);
        }
        failures = 0;
      } catch (err) {
        failures++;
        this.recoverOwn = true;
        this.metrics.loopErrors.inc(this.labels);
        this.log.error("consumer loop error", { err });
        if (String(err).includes("NOGROUP")) await this.ensureGroups().catch(() => {});
        if (this.running) await Bun.sleep(Math.min(50 * 2 ** Math.min(failures, 5), 2_000));
      }
    }
    // a read-ahead in flight at close is handled too, so that no entry stays pending for this consumer
    const ahead = this.ahead;
    this.ahead = undefined;
    const last = ahead ? await ahead.catch(() => null) : null;
    try {
      if (last && !this.recoverOwn) await this.process(last, 1);
      await this.flushAll();
    } catch (err) {
      this.log.error("acks lost at close, entries stay pending", { err });
    }
  }

  /** True when the read filled a whole batch from the shared stream: more entries are likely waiting. */
  private isFull(reply: NonNullable<ReadReply>): boolean {
    const size = this.batchSize;
    for (const [, entries] of reply) if (entries.length >= size) return true;
    return false;
  }

  /** Waits for a read-ahead in flight and forgets its entries (they stay pending for this consumer). */
  private async dropAhead(): Promise<void> {
    const ahead = this.ahead;
    this.ahead = undefined;
    if (ahead) await ahead.catch(() => null);
  }

  /** Waits for the settle pipeline of the last batch; rejects when it failed. */
  private async flushAcks(): Promise<void> {
    const acking = this.acking;
    this.acking = undefined;
    await acking;
  }

  /** Waits for every settle in flight, a batch's pending work included; rejects when one failed. */
  private async flushAll(): Promise<void> {
    const deferred = this.deferred;
    this.deferred = undefined;
    try {
      await deferred;
    } finally {
      await this.flushAcks();
    }
  }

  private async read(): Promise<ReadReply> {
    if (!this.running) return null;
    const now = Date.now();
    let block = this.opts.blockMs ?? 1_000;
    if (this.nextRetryDue > 0) block = Math.max(1, Math.min(block, this.nextRetryDue - now));
    this.reading = true;
    try {
      // With `decodeBytes`, bytes: ids, keys and field names are ASCII and decoded here, payloads by the decoder;
      // without, strings, which ioredis decodes faster than one Buffer per element.
      const read = this.opts.decodeBytes ? this.blocking.callBuffer : this.blocking.call;
      return (await read.call(
        this.blocking,
        "XREADGROUP",
        "GROUP",
        this.opts.group,
        this.name,
        "COUNT",
        this.batchSize,
        "BLOCK",
        block,
        "STREAMS",
        this.opts.keys.stream,
        this.retryStream,
        ">",
        ">",
      )) as ReadReply;
    } finally {
      this.reading = false;
    }
  }

  private async housekeeping(): Promise<void> {
    const now = Date.now();
    if (now >= this.nextMoveAt || (this.nextRetryDue > 0 && now >= this.nextRetryDue)) {
      const [, nextDue] = await this.redis.moveDue(
        this.opts.keys.retrySet(this.opts.group),
        this.retryStream,
        now,
        500,
      );
      this.nextRetryDue = nextDue;
      this.nextMoveAt = now + 250;
    }
    if (this.recoverOwn || now >= this.nextClaimAt) await this.flushAll();
    if (this.recoverOwn) {
      this.recoverOwn = false;
      // entries of a read-ahead are pending for this consumer: recovering its own entries hands them over again
      await this.dropAhead();
      await this.reclaim(0, this.name);
    }
    if (now >= this.nextClaimAt) {
      this.nextClaimAt = now + (this.opts.claimIntervalMs ?? 5_000);
      await this.reclaim(this.opts.claimIdleMs ?? 30_000);
    }
    const trimEvery = this.opts.trimIntervalMs ?? 5_000;
    if (trimEvery > 0 && now >= this.nextTrimAt && this.trimming === undefined) {
      this.nextTrimAt = now + trimEvery;
      // beside the reads, not before one: its four round trips (and the XTRIM's wait for the AOF) stay off the path
      // of the entries; trimming only removes what every group has acked, so it may run while this one reads
      this.trimming = trimAcked(this.redis, this.opts.keys, { retainMs: this.opts.retainMs })
        .then(
          () => {},
          (err) => {
            this.metrics.loopErrors.inc(this.labels);
            this.log.error("trim failed", { err });
          },
        )
        .finally(() => {
          this.trimming = undefined;
        });
    }
  }

  /**
   * Takes over entries left pending in both the shared and the retry stream: those of any consumer idle past
   * `idleMs` (dead consumers), or with `owner`, this consumer's own (replies or acks lost to a broken connection).
   */
  private async reclaim(idleMs: number, owner?: string): Promise<void> {
    for (const key of [this.opts.keys.stream, this.retryStream]) {
      const n = await reclaimPending(
        this.redis,
        key,
        this.opts.group,
        this.name,
        { idleMs, owner, pageSize: this.batchSize, running: () => this.running },
        async (entry, deliveries) => {
          await this.process([[key, [entry]]], 0, [deliveries]);
          await this.flushAll();
        },
      );
      if (n) {
        this.metrics.reclaimed.inc(this.labels, n);
        this.log.warn(owner ? "recovered own pending entries" : "reclaimed pending entries", { count: n });
      }
    }
  }

  /**
   * Decodes a reply, runs the handler on the valid entries and sends the settling of every entry (ack, retry or
   * dead letter) in one pipeline, left in flight for {@link flushAcks} (or, when the handler left work pending, for
   * {@link flushAll} and the next batch). `deliveries` (per entry, reclaim only)
   * overrides the delivery count of 1.
   */
  private async process(
    reply: [Buffer | string, RawEntryBytes[]][],
    delivery: number,
    deliveries?: number[],
  ): Promise<void> {
    const batch: Envelope<T>[] = [];
    const bury: { env: Envelope<T>; reason: string }[] = [];
    const maxAttempts = this.opts.maxAttempts ?? 5;
    const { schema, accept, decodeBytes } = this.opts;
    let idx = 0;
    for (const [key, entries] of reply) {
      const fromRetry = ascii(key) === this.retryStream;
      for (const [rawId, fields] of entries) {
        const entryId = ascii(rawId);
        const count = deliveries?.[idx++] ?? delivery;
        const payload = fieldOf(fields, "d") ?? "";
        const prior = fromRetry ? Number(ascii(fieldOf(fields, "a") ?? "0")) : 0;
        const origin = fromRetry ? fieldOf(fields, "o") : undefined;
        const id = origin === undefined ? entryId : ascii(origin);
        const attempt = prior + count;
        const fast = decodeBytes && typeof payload !== "string" ? decodeBytes(payload) : undefined;
        const decoded =
          fast !== undefined ? { ok: true as const, value: fast } : decode(schema, payload.toString(), accept);
        const env = { id, entryId, payload, fromRetry, attempt, data: decoded.ok ? decoded.value : (undefined as T) };
        if (!decoded.ok) bury.push({ env, reason: decoded.reason });
        else if (attempt > maxAttempts)
          bury.push({
            env: { ...env, attempt: attempt - 1 },
            reason: `consumer died handling it ${attempt - 1} times`,
          });
        else batch.push(env);
      }
    }
    let failed: { message: Message<T>; error: unknown }[] = [];
    let pending: Promise<void> | undefined;
    if (batch.length) {
      const started = performance.now();
      try {
        const result = await this.opts.handler(batch);
        failed = result?.failed ?? [];
        pending = result?.pending;
      } catch (error) {
        failed = batch.map((message) => ({ message, error }));
      }
      this.metrics.handlerSeconds.observe(this.labels, (performance.now() - started) / 1000);
    }
    if (pending === undefined) {
      this.acking = this.settle(batch, failed, bury, maxAttempts);
      return;
    }
    const previous = this.deferred;
    const done = failed;
    const deferred = pending.then(
      () => this.settle(batch, done, bury, maxAttempts),
      (error: unknown) =>
        this.settle(
          batch,
          batch.map((message) => ({ message, error })),
          bury,
          maxAttempts,
        ),
    );
    deferred.catch(() => {}); // handled where it is awaited: flushAll or the next batch
    this.deferred = deferred;
    // at most one batch outstanding: the one before settles now, while this one's work goes on
    await previous;
  }

  /** Sends the acks, retries and dead letters of a batch in one pipeline; resolves once Redis took them. */
  private settle(
    batch: Envelope<T>[],
    failed: { message: Message<T>; error: unknown }[],
    bury: { env: Envelope<T>; reason: string }[],
    maxAttempts: number,
  ): Promise<void> {
    const failedSet = failed.length ? new Set(failed.map((f) => f.message)) : undefined;
    const okMain: string[] = [];
    const okRetry: string[] = [];
    for (const env of batch) if (!failedSet?.has(env)) (env.fromRetry ? okRetry : okMain).push(env.entryId);
    const pipe = this.redis.pipeline();
    const { keys, group } = this.opts;
    if (okMain.length) pipe.xack(keys.stream, group, ...okMain);
    if (okRetry.length) {
      pipe.xack(this.retryStream, group, ...okRetry);
      pipe.xdel(this.retryStream, ...okRetry);
    }
    const now = Date.now();
    const dlqCap = this.opts.dlqMaxLen ?? 100_000;
    const schedule = (env: Envelope<T>, error: string, max: number) =>
      (pipe as unknown as StreamScripts).retryOrBury(
        env.fromRetry ? this.retryStream : keys.stream,
        keys.retrySet(group),
        keys.dlq,
        group,
        env.entryId,
        env.id,
        env.attempt,
        now + backoffDelay(env.attempt, this.opts.backoff),
        env.payload.toString(),
        max,
        error.slice(0, 1_000),
        now,
        dlqCap,
        env.fromRetry ? "1" : "0",
      );
    for (const f of failed) {
      const env = f.message as Envelope<T>;
      const msg = f.error instanceof Error ? f.error.message : String(f.error);
      this.log.warn("handler failed", { messageId: env.id, attempt: env.attempt, err: msg });
      schedule(env, msg, maxAttempts);
    }
    for (const b of bury) {
      this.log.warn("dead-lettering entry", { messageId: b.env.id, reason: b.reason });
      schedule(b.env, b.reason, 0);
    }
    if (failed.length) {
      // the next read blocks no longer than until the soonest possible retry
      const soonest = now + backoffDelay(1, { ...this.opts.backoff, jitter: 1 });
      if (this.nextRetryDue < 0 || soonest < this.nextRetryDue) this.nextRetryDue = soonest;
    }
    const done = okMain.length + okRetry.length;
    const scriptedCount = failed.length + bury.length;
    const acking = pipe.exec().then((results) => {
      if (!results) throw new Error("settle pipeline returned nothing");
      for (const [err] of results) if (err) throw err;
      let retried = 0;
      for (let i = results.length - scriptedCount; i < results.length; i++)
        if (Number(results[i]?.[1]) === 1) retried++;
      if (done) this.metrics.processed.inc(this.labels, done);
      if (failed.length) this.metrics.failed.inc(this.labels, failed.length);
      if (retried) this.metrics.retried.inc(this.labels, retried);
      if (scriptedCount - retried) this.metrics.deadLettered.inc(this.labels, scriptedCount - retried);
    });
    acking.catch(() => {}); // handled where it is awaited: flushAcks or flushAll
    return acking;
  }
}
