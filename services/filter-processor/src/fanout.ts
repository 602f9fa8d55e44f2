import {
  type EntityEvent,
  type EntityFilter,
  matchesFilter,
  type Viewport,
  type ViewportEvent,
  viewportContains,
} from "@bump/contracts";
import { type Logger, Registry, silentLogger } from "@bump/service";
import type { EntitySink } from "./entity-sink.ts";
import { EntityStore, type FrameRef, removeFrame, type StoredEntity } from "./entity-store.ts";
import type { ViewportIndex } from "./viewport-index.ts";
import { GridViewportIndex } from "./viewport-index-grid.ts";

/** A user's current view: the latest viewport of any of their sessions, and that session's filter. */
export interface UserView {
  readonly box: Viewport;
  readonly filter: EntityFilter | undefined;
  readonly session: string;
  /** Epoch ms of the viewport event (last writer wins per user). */
  readonly at: number;
  /** Epoch ms after which the view is dropped unless refreshed. */
  expiresAt: number;
}

/** A user's queued frames (latest per entity) and when the first of them was queued (epoch ms). */
interface Queued {
  readonly frames: Map<string, FrameRef>;
  readonly since: number;
}

/** Buckets of the stage histograms, seconds: fine up to the 50 ms budget of change -> socket. */
export const stageBuckets = [
  0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 1,
];

/** Options of {@link Fanout}. */
export interface FanoutOptions {
  sink: EntitySink;
  /** Default a {@link GridViewportIndex}. */
  index?: ViewportIndex;
  store?: EntityStore;
  /** Most users one entity change is delivered to; more are cut and counted. Default 10,000. */
  maxFanout?: number;
  /** At most one full snapshot per user per this many ms; other view changes send the difference. Default 5,000. */
  snapshotIntervalMs?: number;
  /** Most entities in one snapshot. Default 500. */
  snapshotMax?: number;
  /** Snapshots built per flush at most (the rest wait for the next flush). Default 2,000. */
  snapshotsPerFlush?: number;
  /** A view not refreshed for this long expires. Default 600,000 ms. */
  viewTtlMs?: number;
  /**
   * Per-user batching window: a user is sent entity frames at most once per this many ms. A change for a user not
   * sent anything within the window goes at the next {@link Fanout.flush} (no wait); changes meanwhile are held
   * and coalesced per entity until the window has passed. 0: every flush sends everything queued. Default 0.
   */
  windowMs?: number;
  now?: () => number;
  registry?: Registry;
  logger?: Logger;
}

/** Whether `user` with `view` may see entity `e` now. */
export function visibleTo(user: string, view: UserView, e: StoredEntity): boolean {
  return (
    viewportContains(view.box, e.lat, e.lng) &&
    (!view.filter || matchesFilter(view.filter, e.kind, e.data)) &&
    (!e.audience || e.audience.has(user))
  );
}

/**
 * The matching core. Guarantee, for every user with a view, once {@link flush} has run and the sink delivered:
 * the user's client holds exactly the entities visible to it (inside the viewport, passing the filter, audience
 * allowing), each in its latest state — provided the client applies snapshots as replace-all and `entity` frames
 * as set/delete, and no snapshot was cut by `snapshotMax`. Changes are queued per user and per entity (latest
 * wins) until the next flush, so a burst on one entity costs one frame per user per flush.
 */
export class Fanout {
  readonly index: ViewportIndex;
  readonly store: EntityStore;
  private readonly views = new Map<string, UserView>();
  private readonly pending = new Map<string, Queued>();
  private readonly needSnapshot = new Set<string>();
  private readonly lastSnapshot = new Map<string, number>();
  /** When each user was last sent entity frames (only with a window). */
  private readonly lastSent = new Map<string, number>();
  /** Some queued user may be sent now (queued outside their window), since the last flush. */
  private dueNow = false;
  /** Earliest end of a window that holds a queued user (epoch ms); +Infinity when none is held. */
  private heldUntil = Number.POSITIVE_INFINITY;
  private readonly windowMs: number;
  private readonly maxFanout: number;
  private readonly snapshotIntervalMs: number;
  private readonly snapshotMax: number;
  private readonly snapshotsPerFlush: number;
  private readonly viewTtlMs: number;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly scratch: string[] = [];
  private readonly scratch2: string[] = [];
  private readonly m;

  constructor(private readonly opts: FanoutOptions) {
    this.index = opts.index ?? new GridViewportIndex();
    this.store = opts.store ?? new EntityStore();
    this.maxFanout = opts.maxFanout ?? 10_000;
    this.snapshotIntervalMs = opts.snapshotIntervalMs ?? 5_000;
    this.snapshotMax = opts.snapshotMax ?? 500;
    this.snapshotsPerFlush = opts.snapshotsPerFlush ?? 2_000;
    this.viewTtlMs = opts.viewTtlMs ?? 600_000;
    this.windowMs = opts.windowMs ?? 0;
    this.now = opts.now ?? Date.now;
    this.log = opts.logger ?? silentLogger;
    const r = opts.registry ?? new Registry();
    this.m = {
      changes: r.counter("filter_entity_changes_total", "Entity changes by outcome", ["outcome"]),
      matched: r.counter("filter_users_matched_total", "Users an entity change was queued for"),
      capped: r.counter("filter_fanout_capped_total", "Entity changes whose affected users exceeded the cap"),
      frames: r.counter("filter_frames_total", "Frames handed to delivery, per user, by type", ["type"]),
      views: r.counter("filter_view_changes_total", "Viewport events by outcome", ["outcome"]),
      stage: r.histogram(
        "filter_stage_seconds",
        "Stages of an entity change: read (stream entry -> handler), window (a user's first queued frame -> its " +
          "flush), deliver (flush -> delivery resolved)",
        ["stage"],
        stageBuckets,
      ),
    };
    r.addCollector(() => {
      r.gauge("filter_viewports", "Viewports held by this instance").set([], this.views.size);
      r.gauge("filter_entities", "Live entities held in memory").set([], this.store.size);
    });
  }

  /** Number of users with a view. */
  get viewCount(): number {
    return this.views.size;
  }

  /** The user's current view. */
  view(user: string): UserView | undefined {
    return this.views.get(user);
  }

  /**
   * Applies a viewport event: the latest `at` per user wins; `viewport: null` clears the view only when it comes
   * from the session that set it. Queues the difference, or a snapshot when none was sent in the last
   * `snapshotIntervalMs` (always for a user's first view). Returns the view now held (null when cleared), or
   * undefined when the event was stale.
   */
  applyViewport(e: ViewportEvent): UserView | null | undefined {
    const old = this.views.get(e.user_id);
    if (old && old.at > e.at) {
      this.m.views.inc(["stale"]);
      return undefined;
    }
    if (e.viewport === null) {
      if (old && old.session !== e.session_id) {
        this.m.views.inc(["other_session"]);
        return undefined;
      }
      this.drop(e.user_id);
      this.m.views.inc(["cleared"]);
      return null;
    }
    const view: UserView = {
      box: e.viewport,
      filter: isEmptyFilter(e.filter) ? undefined : e.filter,
      session: e.session_id,
      at: e.at,
      expiresAt: this.now() + this.viewTtlMs,
    };
    this.setView(e.user_id, view, old);
    this.m.views.inc(["set"]);
    return view;
  }

  /** Installs a view restored from storage (after a restart): the client gets a snapshot, whatever it held. */
  restoreView(user: string, view: UserView): void {
    this.views.set(user, view);
    this.index.set(user, view.box);
    this.pending.delete(user);
    this.needSnapshot.add(user);
  }

  private setView(user: string, view: UserView, old: UserView | undefined): void {
    this.views.set(user, view);
    this.index.set(user, view.box);
    if (this.needSnapshot.has(user)) return;
    const now = this.now();
    if (!old || now - (this.lastSnapshot.get(user) ?? Number.NEGATIVE_INFINITY) >= this.snapshotIntervalMs) {
      this.needSnapshot.add(user);
      this.pending.delete(user);
      return;
    }
    const held = this.pending.get(user);
    let frames = held?.frames;
    const queue = (id: string, ref: FrameRef) => {
      frames ??= new Map();
      frames.set(id, ref);
    };
    const seen = new Set<string>();
    this.store.inBox(old.box, (ent) => {
      seen.add(ent.id);
      const was = visibleTo(user, old, ent);
      const is = visibleTo(user, view, ent);
      if (was && !is) queue(ent.id, removeFrame(ent, ent.updatedAt));
      else if (!was && is) queue(ent.id, ent.upsert);
      return true;
    });
    this.store.inBox(view.box, (ent) => {
      if (!seen.has(ent.id) && visibleTo(user, view, ent)) queue(ent.id, ent.upsert);
      return true;
    });
    if (!held && frames && frames.size > 0) {
      this.pending.set(user, { frames, since: now });
      this.noteQueued(user, now);
    }
  }

  /** Records when a user just given a queue may be sent: now, or at the end of their window. */
  private noteQueued(user: string, now: number): void {
    const last = this.windowMs > 0 ? this.lastSent.get(user) : undefined;
    if (last === undefined || last + this.windowMs <= now) this.dueNow = true;
    else if (last + this.windowMs < this.heldUntil) this.heldUntil = last + this.windowMs;
  }

  /** Forgets a user's view and whatever was queued for them. */
  drop(user: string): boolean {
    this.index.delete(user);
    this.pending.delete(user);
    this.needSnapshot.delete(user);
    this.lastSnapshot.delete(user);
    this.lastSent.delete(user);
    return this.views.delete(user);
  }

  /** Extends the views of `users` (still connected) by the TTL. */
  refresh(users: Iterable<string>): void {
    const until = this.now() + this.viewTtlMs;
    for (const u of users) {
      const v = this.views.get(u);
      if (v) v.expiresAt = until;
    }
  }

  /** Users whose view expired (not refreshed within the TTL), at most `limit`. */
  expired(limit = 10_000): string[] {
    const now = this.now();
    const out: string[] = [];
    for (const [u, v] of this.views) {
      if (v.expiresAt <= now) out.push(u);
      if (out.length >= limit) break;
    }
    return out;
  }

  /**
   * Applies an entity change (ignored unless newer than the held version) and queues, for every user whose view
   * held the old version or holds the new one, an upsert or a remove. Returns how many users it was queued for.
   */
  applyEntity(e: EntityEvent): number {
    const applied = this.store.apply(e);
    if (!applied) {
      this.m.changes.inc(["stale"]);
      return 0;
    }
    this.m.changes.inc([e.op]);
    const { prev, next, remove } = applied;
    let count = 0;
    let capped = false;
    let now = 0;
    const queue = (user: string, ref: FrameRef) => {
      let q = this.pending.get(user);
      if (!q) {
        if (this.needSnapshot.has(user)) return;
        if (now === 0) now = this.now();
        q = { frames: new Map(), since: now };
        this.pending.set(user, q);
        this.noteQueued(user, now);
      }
      q.frames.set(ref.id, ref);
    };
    const before = this.scratch;
    const after = this.scratch2;
    before.length = 0;
    after.length = 0;
    if (prev && remove && next) {
      if (!this.index.queryPair?.(prev.lat, prev.lng, next.lat, next.lng, before, after)) {
        this.index.query(prev.lat, prev.lng, before);
        this.index.query(next.lat, next.lng, after);
      }
    } else if (prev && remove) this.index.query(prev.lat, prev.lng, before);
    else if (next) this.index.query(next.lat, next.lng, after);
    if (prev && remove) {
      for (const u of before) {
        const view = this.views.get(u);
        if (!view || !visibleTo(u, view, prev)) continue;
        if (next && visibleTo(u, view, next)) continue;
        if (count >= this.maxFanout) {
          capped = true;
          break;
        }
        queue(u, remove);
        count++;
      }
    }
    if (next) {
      for (const u of after) {
        const view = this.views.get(u);
        if (!view || !visibleTo(u, view, next)) continue;
        if (count >= this.maxFanout) {
          capped = true;
          break;
        }
        queue(u, next.upsert);
        count++;
      }
    }
    if (capped) {
      this.m.capped.inc();
      this.log.warn("entity fan-out capped", { entity: e.id, cap: this.maxFanout });
    }
    this.m.matched.inc([], count);
    return count;
  }

  /** Whether anything queued may be sent now (users still inside their window wait). */
  get hasDue(): boolean {
    if (this.needSnapshot.size > 0) return true;
    if (this.pending.size === 0) return false;
    return this.dueNow || this.heldUntil <= this.now();
  }

  /**
   * When the next queued user's window ends (epoch ms, by the `now` clock): a {@link flush} then sends them. +Infinity
   * when no queued user is held by a window. Users that may be sent at once are told by {@link hasDue}.
   */
  get nextDueAt(): number {
    return this.pending.size === 0 ? Number.POSITIVE_INFINITY : this.heldUntil;
  }

  /** Whether anything waits for {@link flush}. */
  get hasPending(): boolean {
    return this.pending.size > 0 || this.needSnapshot.size > 0;
  }

  /**
   * Sends what was queued: snapshots first (a user's queued frames are folded into their snapshot), then every
   * distinct frame once with all its users; users sent something less than `windowMs` ago keep theirs for a
   * later flush (unless `all`). Resolves when the sink took everything sent.
   */
  async flush(all = false): Promise<void> {
    const now = this.now();
    const snapshots: [string, string][] = [];
    for (const user of this.needSnapshot) {
      if (snapshots.length >= this.snapshotsPerFlush) break;
      this.needSnapshot.delete(user);
      this.pending.delete(user);
      const view = this.views.get(user);
      if (!view) continue;
      snapshots.push([user, this.snapshot(user, view)]);
      this.lastSnapshot.set(user, now);
    }
    const groups = new Map<FrameRef, string[]>();
    const cut = all ? Number.POSITIVE_INFINITY : now - this.windowMs;
    this.dueNow = false;
    this.heldUntil = Number.POSITIVE_INFINITY;
    for (const [user, q] of this.pending) {
      if (this.windowMs > 0) {
        const last = this.lastSent.get(user) ?? Number.NEGATIVE_INFINITY;
        if (last > cut) {
          if (last + this.windowMs < this.heldUntil) this.heldUntil = last + this.windowMs;
          continue;
        }
        this.lastSent.set(user, now);
      }
      this.pending.delete(user);
      this.m.stage.observe(WINDOW, Math.max(0, now - q.since) / 1000);
      for (const ref of q.frames.values()) {
        const g = groups.get(ref);
        if (g) g.push(user);
        else groups.set(ref, [user]);
      }
    }
    const sends: Promise<void>[] = [];
    for (const [user, text] of snapshots) sends.push(this.opts.sink.deliver([user], text, "entities"));
    for (const [ref, users] of groups) sends.push(this.opts.sink.deliver(users, ref.text, `entity:${ref.id}`));
    this.m.frames.inc(["entities"], snapshots.length);
    let n = 0;
    for (const users of groups.values()) n += users.length;
    this.m.frames.inc(["entity"], n);
    await Promise.all(sends);
    if (sends.length) this.m.stage.observe(DELIVER, Math.max(0, this.now() - now) / 1000);
  }

  /** Records how long an entity change waited between its stream entry (id time, ms) and its handler. */
  observeRead(entryMs: number, now: number): void {
    this.m.stage.observe(READ, Math.max(0, now - entryMs) / 1000);
  }

  /** The `entities` snapshot frame of a user's view: at most `snapshotMax` visible entities. */
  snapshot(user: string, view: UserView): string {
    const parts: string[] = [];
    this.store.inBox(view.box, (ent) => {
      if (visibleTo(user, view, ent)) parts.push(ent.json);
      return parts.length < this.snapshotMax;
    });
    return `{"type":"entities","op":"snapshot","entities":[${parts.join(",")}]}`;
  }
}

const READ = ["read"];
const WINDOW = ["window"];
const DELIVER = ["deliver"];

function isEmptyFilter(f: EntityFilter | undefined): boolean {
  return !f || (f.kinds === undefined && (f.where === undefined || f.where.length === 0));
}
