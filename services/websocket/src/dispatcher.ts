import {
  type DeliveryKeys,
  type HistoryReader,
  type Presence,
  type ReadResult,
  type RoutedVisitor,
  visitRouted,
} from "@bump/delivery";
import type { Logger } from "@bump/service";
import type { RedisClient as Redis } from "@bump/streams";
import type { GatewayMetrics } from "./metrics.ts";
import type { Session } from "./session.ts";

/** Options of {@link Dispatcher}. */
export interface DispatcherOptions {
  gatewayId: string;
  redis: Redis;
  /** Connection reserved for the blocking read; closed by {@link Dispatcher.close}. */
  blocking: Redis;
  keys: DeliveryKeys;
  history: HistoryReader;
  presence: Presence;
  /** Presence lifetime; refreshed every third of it, ms. */
  presenceTtlMs: number;
  /** How often connected users' heads are compared with what their sockets got, ms. */
  headCheckMs: number;
  metrics: GatewayMetrics;
  log: Logger;
}

/**
 * Users per step of the periodic sweeps (presence refresh, head check). A sweep spreads its steps over half its
 * period, so its Redis work (two commands per user for the refresh, one for the head check) arrives as a steady
 * trickle beside the live frames rather than as one burst every period, which would hold up their scripts behind it.
 */
const SWEEP_BATCH = 250;
const none: readonly Session[] = [];
/** Route entries per read: up to 20,000 frames each (delivery's ROUTE_ENTRY_FRAMES), so a read holds at most 1M. */
const READ_ENTRIES = 50;
/**
 * A read of at least this many frames means the stream is busy: the loop then waits as long as the read took to
 * dispatch, at most {@link LINGER_MAX_MS}, before its next read, so each socket gets more frames per write (a write
 * costs about as much as several frames) while a lightly loaded gateway reads again at once (a busy machine that
 * slows a small read does not delay the next). A read of {@link READ_ENTRIES} entries (more are waiting: the gateway
 * is behind) is followed at once by the next.
 */
const LINGER_MIN_FRAMES = 1_000;
const LINGER_MAX_MS = 40;

/**
 * Reads this gateway's `deliver:{gateway}` stream in one loop and hands frames to the users' sockets in memory.
 * Each socket gets a user's reliable frames exactly once and in sequence order: a frame is written only when it is
 * the next one the socket expects; an early frame, a gap or a nudge makes the socket read the history after its
 * last frame; duplicates are dropped. A periodic head check finds a frame whose routing was lost.
 */
export class Dispatcher {
  /** Each connected user's sockets; a list is replaced, never changed in place, so a dispatch may iterate it. */
  private readonly users = new Map<string, readonly Session[]>();
  private readonly stream: string;
  private lastId = "0-0";
  private running = false;
  private loop: Promise<void> | undefined;
  private timers: ReturnType<typeof setInterval>[] = [];
  /** When the last presence refresh of every user here started, or the loop did (ms). */
  private refreshedAt = 0;
  /** Users whose registration (true) or removal (false) here waits for the next presence flush (latest wins). */
  private presenceOps = new Map<string, boolean>();
  /** Settles when the waiting presence changes are made (rejects when the registrations failed). */
  private presenceNext: PromiseWithResolvers<void> | undefined;
  /** The presence flush in progress. */
  private presenceFlushing: Promise<void> = Promise.resolve();
  /** Frames (one per user) of the current read. */
  private readFrames = 0;
  /** Sockets written to during the current read, released (one write each) when it is dispatched. */
  private touched: Session[] = [];
  /** Hands a route entry's frames to the users' sockets, holding each socket's writes in {@link touched}. */
  private readonly route: RoutedVisitor = {
    reliable: (user, epoch, seq, text) => {
      this.readFrames++;
      for (const s of this.hold(user)) this.reliable(s, epoch, seq, text);
    },
    nudge: (user, epoch, seq) => {
      for (const s of this.hold(user)) this.reliable(s, epoch, seq, null);
    },
    volatile: (user, key, text) => {
      this.readFrames++;
      for (const s of this.hold(user)) s.outbox.volatile(text, key);
    },
  };

  constructor(private readonly o: DispatcherOptions) {
    this.stream = o.keys.gateway(o.gatewayId);
  }

  /** Number of this user's sockets on this gateway. */
  count(user: string): number {
    return this.users.get(user)?.length ?? 0;
  }

  /** Number of connected users. */
  get userCount(): number {
    return this.users.size;
  }

  /** Every session, for shutdown and metrics. */
  *sessions(): Iterable<Session> {
    for (const list of this.users.values()) yield* list;
  }

  /** Starts the read loop after the stream's current end, and the presence and head-check timers. */
  async start(): Promise<void> {
    const tail = (await this.o.redis.xrevrange(this.stream, "+", "-", "COUNT", 1)) as [string, string[]][];
    this.lastId = tail[0]?.[0] ?? "0-0";
    this.running = true;
    // Every registration from now on is made by `open` and lives a TTL: the first refresh only extends them.
    this.refreshedAt = Date.now();
    this.loop = this.run();
    this.timers.push(
      setInterval(() => void this.refreshPresence(), Math.max(100, Math.floor(this.o.presenceTtlMs / 3))),
      setInterval(() => void this.checkHeads(), this.o.headCheckMs),
      setInterval(() => void this.o.redis.xtrim(this.stream, "MINID", "~", this.lastId).catch(() => {}), 5_000),
    );
  }

  /**
   * Attaches `s` and brings it up to date: from `since` when given (replayed in order; `resync` when history no
   * longer covers it), else from the user's current head. `ready(resumed)` runs before any replayed frame is
   * written; live frames follow the replay, never precede it.
   */
  async open(s: Session, since: string | null, ready: (resumed: boolean) => void): Promise<void> {
    s.filling = true;
    const list = [...(this.users.get(s.user) ?? []), s];
    this.users.set(s.user, list);
    try {
      if (list.length === 1) await this.queuePresence(s.user, true);
      if (since === null) {
        const head = await this.o.history.head(s.user);
        s.epoch = head.epoch;
        s.last = head.seq;
        ready(false);
      } else {
        const r = await this.o.history.readSince(s.user, since);
        this.o.metrics.fills.inc();
        ready(r.kind === "frames");
        this.apply(s, r);
      }
    } finally {
      s.filling = false;
    }
    if (s.hint > s.last) await this.fill(s);
  }

  /** Replays after `since` for a socket already open (a `resume` frame). */
  async resume(s: Session, since: string): Promise<void> {
    while (s.filling && !s.closed) await Bun.sleep(5);
    s.filling = true;
    try {
      const r = await this.o.history.readSince(s.user, since);
      this.o.metrics.fills.inc();
      this.apply(s, r);
    } finally {
      s.filling = false;
    }
    if (s.hint > s.last) await this.fill(s);
  }

  /** Detaches a closed socket; the user's presence here is removed with its last socket. */
  detach(s: Session): void {
    s.closed = true;
    const list = this.users.get(s.user);
    if (!list?.includes(s)) return;
    const rest = list.filter((x) => x !== s);
    if (rest.length) {
      this.users.set(s.user, rest);
      return;
    }
    this.users.delete(s.user);
    this.queuePresence(s.user, false).catch(() => {});
  }

  /** Stops the loop and timers and removes this gateway's presence. Idempotent. */
  async close(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const t of this.timers) clearInterval(t);
    this.o.blocking.disconnect();
    await this.loop;
    await this.presenceSettled();
    await this.o.presence.unregister(this.o.gatewayId, [...this.users.keys()]).catch(() => {});
  }

  private async run(): Promise<void> {
    let linger = 0;
    while (this.running) {
      try {
        if (linger > 0) await Bun.sleep(linger);
        linger = 0;
        const res = (await this.o.blocking.xread(
          "COUNT",
          READ_ENTRIES,
          "BLOCK",
          1000,
          "STREAMS",
          this.stream,
          this.lastId,
        )) as [string, [string, string[]][]][] | null;
        const started = performance.now();
        let read = 0;
        this.readFrames = 0;
        try {
          for (const [, entries] of res ?? []) {
            read += entries.length;
            for (const [id, fields] of entries) {
              this.lastId = id;
              visitRouted(fields, this.route);
            }
          }
        } finally {
          const touched = this.touched;
          this.touched = [];
          for (const s of touched) s.outbox.release();
          if (this.readFrames >= LINGER_MIN_FRAMES && read < READ_ENTRIES) {
            linger = Math.min(performance.now() - started, LINGER_MAX_MS);
          }
        }
      } catch (err) {
        if (!this.running) return;
        this.o.log.warn("deliver stream read failed", { err, stream: this.stream });
        await Bun.sleep(250);
      }
    }
  }

  /** The user's sockets here (none: empty), each holding its writes until the current read is dispatched. */
  private hold(user: string): readonly Session[] {
    const list = this.users.get(user);
    if (!list) return none;
    for (let k = 0; k < list.length; k++) {
      const s = list[k] as Session;
      if (s.outbox.hold()) this.touched.push(s);
    }
    return list;
  }

  private reliable(s: Session, epoch: string, seq: number, text: string | null): void {
    if (s.filling) {
      s.hint = Math.max(s.hint, epoch === s.epoch || s.epoch === null ? seq : Number.MAX_SAFE_INTEGER);
      return;
    }
    if (epoch === s.epoch || (s.epoch === null && s.last === 0)) {
      if (epoch === s.epoch && seq <= s.last) {
        this.o.metrics.duplicates.inc();
        return;
      }
      if (seq === s.last + 1 && text !== null) {
        s.outbox.reliable(text);
        s.epoch = epoch;
        s.last = seq;
        return;
      }
    }
    void this.fill(s);
  }

  private async fill(s: Session): Promise<void> {
    if (s.filling || s.closed) return;
    s.filling = true;
    try {
      do {
        s.hint = 0;
        const r = await this.o.history.readAfter(s.user, { epoch: s.epoch, seq: s.last });
        this.o.metrics.fills.inc();
        this.apply(s, r);
      } while (s.hint > s.last && !s.closed);
    } catch (err) {
      this.o.log.warn("history fill failed", { err, user_id: s.user });
    } finally {
      s.filling = false;
      s.suspect = null;
    }
  }

  private apply(s: Session, r: ReadResult): void {
    if (r.kind === "resync") {
      s.outbox.reliable(JSON.stringify({ type: "resync", reason: r.reason }));
      s.epoch = r.head.epoch;
      s.last = r.head.seq;
      return;
    }
    // The read starts after `r.after`, which the socket (or its client, when resuming) already has; with no frames
    // it must still move there, or the next live frame would look like a gap and refill from the epoch's start.
    if (s.epoch !== r.head.epoch) {
      s.epoch = r.head.epoch;
      s.last = r.after;
    } else if (r.after > s.last) s.last = r.after;
    for (const f of r.frames) {
      if (f.seq <= s.last) continue;
      s.outbox.reliable(f.text);
      s.last = f.seq;
      this.o.metrics.filled.inc();
    }
  }

  /**
   * Registers (`live`) or removes `user` here in the next presence flush, which makes the changes of every socket
   * opened or closed meanwhile in one call; a later change of the same user replaces an earlier one.
   */
  private queuePresence(user: string, live: boolean): Promise<void> {
    this.presenceOps.set(user, live);
    if (!this.presenceNext) {
      this.presenceNext = Promise.withResolvers<void>();
      setImmediate(() => {
        this.presenceFlushing = this.flushPresence();
      });
    }
    return this.presenceNext.promise;
  }

  private async flushPresence(): Promise<void> {
    const ops = this.presenceOps;
    const done = this.presenceNext as PromiseWithResolvers<void>;
    this.presenceOps = new Map();
    this.presenceNext = undefined;
    const add: string[] = [];
    const remove: string[] = [];
    for (const [user, live] of ops) (live ? add : remove).push(user);
    const removed = remove.length ? this.o.presence.unregister(this.o.gatewayId, remove).catch(() => {}) : undefined;
    try {
      if (add.length) await this.o.presence.register(this.o.gatewayId, add);
      done.resolve();
    } catch (err) {
      done.reject(err);
    }
    await removed;
  }

  /** Waits until every presence change queued so far is made (or failed). */
  private async presenceSettled(): Promise<void> {
    await this.presenceNext?.promise.catch(() => {});
    await this.presenceFlushing;
  }

  /** The presence sweep in progress, and the head check's: a timer that fires while its last one runs skips. */
  private refreshing = false;
  private checking = false;

  /** Every third of the presence TTL: the registrations of every connected user here, spread over a sixth of it. */
  private async refreshPresence(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      // A refresh must not reach Redis before the registration it extends.
      await this.presenceSettled();
      const started = Date.now();
      // Registrations refreshed less than half a TTL ago are still live and only extended; later (a stalled loop, a
      // failed refresh) they are made again. A sweep takes a sixth of the TTL, so a registration is extended at
      // most half a TTL after the last time.
      const extend = started - this.refreshedAt < this.o.presenceTtlMs / 2;
      await this.sweep(this.o.presenceTtlMs / 6, async (users) => {
        if (extend) await this.o.presence.refresh(this.o.gatewayId, users);
        else await this.o.presence.register(this.o.gatewayId, users);
      });
      this.refreshedAt = started;
    } catch (err) {
      this.o.log.warn("presence refresh failed", { err });
    } finally {
      this.refreshing = false;
    }
  }

  /** Every `headCheckMs`: each connected user's head against what its sockets got, spread over half of it. */
  private async checkHeads(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      await this.sweep(this.o.headCheckMs / 2, async (users) => {
        try {
          const heads = await this.o.history.heads(users);
          for (const [user, head] of heads) {
            if (head.epoch === null) continue;
            for (const s of this.users.get(user) ?? []) {
              if (s.filling) continue;
              if (head.epoch === s.epoch && head.seq <= s.last) s.suspect = null;
              else if (s.suspect !== null && (head.epoch !== s.epoch || s.last < s.suspect)) void this.fill(s);
              else s.suspect = head.seq;
            }
          }
        } catch (err) {
          this.o.log.warn("head check failed", { err });
        }
      });
    } finally {
      this.checking = false;
    }
  }

  /**
   * Runs `step` on the users connected now, {@link SWEEP_BATCH} at a time, the steps spread evenly over `spanMs`
   * (each waits for the last; a slow step is not made up for). A step gets only the users still connected when it
   * starts, so one that left meanwhile is not registered again. Stops with the dispatcher; a step that throws ends
   * the sweep.
   */
  private async sweep(spanMs: number, step: (users: string[]) => Promise<void>): Promise<void> {
    const users = [...this.users.keys()];
    const steps = Math.ceil(users.length / SWEEP_BATCH);
    const t0 = performance.now();
    for (let k = 0; k < steps && this.running; k++) {
      const slice = users.slice(k * SWEEP_BATCH, (k + 1) * SWEEP_BATCH).filter((u) => this.users.has(u));
      if (slice.length) await step(slice);
      const wait = t0 + ((k + 1) * spanMs) / steps - performance.now();
      if (wait >= 1 && k + 1 < steps) await Bun.sleep(wait);
    }
  }
}
