import { type Logger, Registry, silentLogger } from "@bump/service";
import { isCluster, keySlot, type RedisClient as Redis, SlotBatch } from "@bump/streams";
import type { HistoryWindow } from "./history.ts";
import type { DeliveryKeys } from "./keys.ts";
import type { Presence } from "./presence.ts";
import { encodeRouted, type RoutedFrame } from "./route.ts";
import { type DeliveryScripts, withDeliveryScripts } from "./scripts.ts";

/** Options of one {@link Delivery.deliver} call. */
export interface DeliverOptions {
  /** Reliable frames get the user's next sequence, enter history and are replayed on resume. Default false. */
  reliable?: boolean;
  /** Volatile frames with the same key may be coalesced on a slow socket (latest wins). */
  coalesceKey?: string;
  /** Reliable only: an id that makes a retried deliver idempotent per user (same sequence, shown once). */
  id?: string;
  /** Route to the gateways now. Default true; `false` only appends to history (gateways find it by the head check). */
  route?: boolean;
}

/** What happened for one user of a {@link Delivery.deliver} call. */
export interface DeliverReceipt {
  readonly user: string;
  /** Reliable: the frame's offset `<epoch>:<seq>`. */
  readonly offset?: string;
  /** Reliable: false when the frame id was already appended (the earlier offset is returned). */
  readonly created?: boolean;
  /** Gateways the frame was routed to. */
  readonly gateways: readonly string[];
}

/** Options of {@link Delivery}. */
export interface DeliveryOptions extends HistoryWindow {
  redis: Redis;
  keys: DeliveryKeys;
  presence: Presence;
  /** How long a frame id is remembered for idempotency, seconds. Default 86,400. */
  idTtlSeconds?: number;
  /** How long a user's sequence and history live after their last reliable frame, ms. Default 86,400,000. */
  retentionMs?: number;
  /** Approximate cap of each `deliver:{gateway}` stream. Default 100,000 entries. */
  routeMaxLen?: number;
  /** A gateway stream nobody wrote to for this long expires, ms. Default 600,000. */
  routeTtlMs?: number;
  /**
   * Users appended by one script call. Default 500. Keys of different users live in different Redis Cluster
   * slots: on a cluster, set 1 (one script per user, in the user's slot).
   */
  usersPerScript?: number;
  registry?: Registry;
  logger?: Logger;
}

interface Pending {
  users: readonly string[];
  text: string;
  opts: DeliverOptions;
  resolve: (r: DeliverReceipt[]) => void;
  reject: (e: unknown) => void;
}

/** Most frames in one route entry; a larger flush writes several entries to that gateway. */
const ROUTE_ENTRY_FRAMES = 2_000;

const alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** A fresh random epoch: 16 alphanumerics. */
export function newEpoch(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let s = "";
  for (const b of bytes) s += alphabet[b % alphabet.length];
  return s;
}

/**
 * Delivers frames to users wherever they are connected. Calls made together are batched into one flush: one
 * pipeline of append scripts (each appending for up to `usersPerScript` users) and presence lookups, then one
 * XADD per gateway; calls made while a flush runs go in the next one.
 * Reliable frames are in the user's history once `deliver` resolves, so every socket of the user gets them
 * exactly once and in order (live, by gap fill, or on resume), even if routing is lost. Volatile frames are
 * best effort.
 */
export class Delivery {
  private readonly redis: Redis & DeliveryScripts;
  private readonly log: Logger;
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private readonly maxLen: number;
  private readonly windowMs: number;
  private readonly idTtl: number;
  private readonly retentionMs: number;
  private readonly routeMaxLen: number;
  private readonly routeTtlMs: number;
  private readonly usersPerScript: number;
  private readonly frames;
  private readonly flushes;

  constructor(private readonly opts: DeliveryOptions) {
    this.redis = withDeliveryScripts(opts.redis);
    this.log = opts.logger ?? silentLogger;
    this.maxLen = opts.maxLen ?? 300;
    this.windowMs = opts.windowMs ?? 600_000;
    this.idTtl = opts.idTtlSeconds ?? 86_400;
    this.retentionMs = opts.retentionMs ?? 86_400_000;
    this.routeMaxLen = opts.routeMaxLen ?? 100_000;
    this.routeTtlMs = opts.routeTtlMs ?? 600_000;
    this.usersPerScript = Math.max(1, opts.usersPerScript ?? 500);
    const registry = opts.registry ?? new Registry();
    this.frames = registry.counter("delivery_frames_total", "Frames delivered per user, by kind", ["kind"]);
    this.flushes = registry.counter("delivery_flushes_total", "Delivery flushes (one XADD per gateway each)");
  }

  /**
   * Delivers `frame` (a server frame without `offset`; reliable ones get theirs) to every user in `users`.
   * Resolves once every reliable frame is in history and the route entries are written; rejects when Redis
   * refused (then retry with the same `id`: nothing is shown twice).
   */
  deliver(users: readonly string[], frame: object | string, opts: DeliverOptions = {}): Promise<DeliverReceipt[]> {
    const text = typeof frame === "string" ? frame : JSON.stringify(frame);
    if (opts.reliable && !text.startsWith("{")) throw new TypeError("a reliable frame must be a JSON object");
    return new Promise((resolve, reject) => {
      this.queue.push({ users, text, opts, resolve, reject });
      if (!this.flushing) this.flushing = Promise.resolve().then(() => this.drain());
    });
  }

  /**
   * Flushes what is queued, one flush at a time: a flush's route entries are written before the next flush's
   * appends are sent, so frames reach each gateway in the order of the `deliver` calls.
   */
  private async drain(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue;
      this.queue = [];
      try {
        await this.flush(batch);
      } catch (err) {
        this.log.warn("delivery flush failed", { err, items: batch.length });
        for (const p of batch) p.reject(err);
      }
    }
    this.flushing = undefined;
  }

  private async flush(batch: Pending[]): Promise<void> {
    const pipe = new SlotBatch(this.redis);
    const now = Date.now();
    // Reliable frames: one append script per chunk of users, frames with and without ids in separate chunks; on a
    // cluster a chunk holds users of one slot only, as a script touches one slot.
    const calls: Call[] = [];
    const open = new Map<string, Call>();
    const cluster = isCluster(this.redis);
    const epochBase = newEpoch();
    const volatile: { p: number; user: string }[] = [];
    batch.forEach((p, pi) => {
      if (!p.opts.reliable) {
        for (const u of p.users) {
          volatile.push({ p: pi, user: u });
          const key = this.opts.keys.user(u).presence;
          pipe.for(key).zrangebyscore(key, now, "+inf");
        }
        return;
      }
      const marked = p.opts.id === undefined ? 0 : 1;
      for (const u of p.users) {
        const k = this.opts.keys.user(u);
        const chunk = cluster ? `${marked}:${keySlot(k.meta)}` : `${marked}`;
        let call = open.get(chunk);
        if (!call || call.users.length >= this.usersPerScript) {
          call = { marked, keys: [], users: [], frameOf: [], frames: [], framePos: new Map() };
          open.set(chunk, call);
          calls.push(call);
        }
        let pos = call.framePos.get(pi);
        if (pos === undefined) {
          pos = call.frames.push(p.text);
          call.framePos.set(pi, pos);
        }
        call.keys.push(k.meta, k.history, k.frame(p.opts.id ?? ""), k.presence);
        call.users.push({ p: pi, user: u });
        call.frameOf.push(pos);
      }
    });
    for (const c of calls) {
      (pipe.for(c.keys[0] ?? "") as unknown as DeliveryScripts).appendFrames(
        c.keys.length,
        ...c.keys,
        `${epochBase}x`,
        this.maxLen,
        this.windowMs,
        c.marked ? this.idTtl : 0,
        this.retentionMs,
        c.users.length,
        ...c.frameOf,
        ...c.frames,
      );
    }
    const res = await pipe.exec();
    const routes = new Map<string, RoutedFrame[]>();
    const receipts: DeliverReceipt[][] = batch.map(() => []);
    let i = 0;
    for (const v of volatile) {
      const [err, reply] = res[i++] ?? [new Error("missing reply"), null];
      if (err) throw err;
      const p = batch[v.p] as Pending;
      const gateways = reply as string[];
      if (p.opts.route !== false) {
        const f: RoutedFrame = { kind: "volatile", user: v.user, key: p.opts.coalesceKey ?? "", text: p.text };
        for (const g of gateways) push(routes, g, f);
      }
      receipts[v.p]?.push({ user: v.user, gateways });
    }
    for (const c of calls) {
      const [err, reply] = res[i++] ?? [new Error("missing reply"), null];
      if (err) throw err;
      const r = reply as (string | number)[];
      let at = 0;
      c.users.forEach((cu) => {
        const p = batch[cu.p] as Pending;
        const epoch = String(r[at]);
        const seq = Number(r[at + 1]);
        const created = r[at + 2] === 1;
        const n = Number(r[at + 3]);
        const gateways = r.slice(at + 4, at + 4 + n) as string[];
        at += 4 + n;
        if (p.opts.route !== false && gateways.length) {
          // The same text the script stored: the offset spliced in front of the frame's own fields.
          const f: RoutedFrame = created
            ? { kind: "reliable", user: cu.user, epoch, seq, text: `{"offset":"${epoch}:${seq}",${p.text.slice(1)}` }
            : { kind: "nudge", user: cu.user, epoch, seq };
          for (const g of gateways) push(routes, g, f);
        }
        receipts[cu.p]?.push({ user: cu.user, offset: `${epoch}:${seq}`, created, gateways });
      });
    }
    if (volatile.length) this.frames.inc(["volatile"], volatile.length);
    if (calls.length)
      this.frames.inc(
        ["reliable"],
        calls.reduce((n, c) => n + c.users.length, 0),
      );
    if (routes.size) {
      const out = new SlotBatch(this.redis);
      for (const [g, frames] of routes) {
        const key = this.opts.keys.gateway(g);
        for (let j = 0; j < frames.length; j += ROUTE_ENTRY_FRAMES) {
          const fields: string[] = [];
          for (let q = j; q < Math.min(frames.length, j + ROUTE_ENTRY_FRAMES); q++) {
            const [name, value] = encodeRouted(frames[q] as RoutedFrame);
            fields.push(name, value);
          }
          out.for(key).xadd(key, "MAXLEN", "~", this.routeMaxLen, "*", ...fields);
        }
        out.for(key).pexpire(key, this.routeTtlMs);
      }
      for (const [err] of await out.exec()) if (err) throw err;
    }
    this.flushes.inc();
    batch.forEach((p, j) => {
      p.resolve(receipts[j] ?? []);
    });
  }
}

/** One append script call: users (with the batch item each came from) and their distinct frames. */
interface Call {
  marked: number;
  keys: string[];
  users: { p: number; user: string }[];
  /** 1-based index into `frames` per user. */
  frameOf: number[];
  frames: string[];
  framePos: Map<number, number>;
}

function push(map: Map<string, RoutedFrame[]>, key: string, v: RoutedFrame): void {
  const list = map.get(key);
  if (list) list.push(v);
  else map.set(key, [v]);
}
