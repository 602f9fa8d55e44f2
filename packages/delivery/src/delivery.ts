import { type Logger, Registry, silentLogger } from "@bump/service";
import type Redis from "ioredis";
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
 * Delivers frames to users wherever they are connected. Concurrent calls are batched into one flush: one
 * pipeline of append scripts (reliable) and presence lookups (volatile), then one XADD per gateway.
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
    const pipe = this.redis.pipeline() as unknown as DeliveryScripts & ReturnType<Redis["pipeline"]>;
    const now = Date.now();
    for (const p of batch) {
      for (const u of p.users) {
        const k = this.opts.keys.user(u);
        if (p.opts.reliable) {
          pipe.appendFrame(
            k.meta,
            k.history,
            k.frame(p.opts.id ?? ""),
            k.presence,
            p.text,
            newEpoch(),
            this.maxLen,
            this.windowMs,
            p.opts.id === undefined ? 0 : this.idTtl,
            this.retentionMs,
          );
        } else {
          pipe.zrangebyscore(k.presence, now, "+inf");
        }
      }
    }
    const res = (await pipe.exec()) ?? [];
    const routes = new Map<string, RoutedFrame[]>();
    const receipts: DeliverReceipt[][] = [];
    let i = 0;
    for (const p of batch) {
      const list: DeliverReceipt[] = [];
      for (const u of p.users) {
        const [err, reply] = res[i++] ?? [new Error("missing reply"), null];
        if (err) throw err;
        const r = reply as (string | number)[];
        if (p.opts.reliable) {
          const [epoch, seq, created, text] = r as [string, number, number, string];
          const gateways = r.slice(4) as string[];
          const routed: RoutedFrame = created
            ? { kind: "reliable", user: u, epoch, seq: Number(seq), text }
            : { kind: "nudge", user: u, epoch, seq: Number(seq) };
          if (p.opts.route !== false) for (const g of gateways) push(routes, g, routed);
          list.push({ user: u, offset: `${epoch}:${seq}`, created: created === 1, gateways });
          this.frames.inc(["reliable"]);
        } else {
          const gateways = r as string[];
          const routed: RoutedFrame = { kind: "volatile", user: u, key: p.opts.coalesceKey ?? "", text: p.text };
          if (p.opts.route !== false) for (const g of gateways) push(routes, g, routed);
          list.push({ user: u, gateways });
          this.frames.inc(["volatile"]);
        }
      }
      receipts.push(list);
    }
    if (routes.size) {
      const out = this.redis.pipeline();
      for (const [g, frames] of routes) {
        const key = this.opts.keys.gateway(g);
        for (let j = 0; j < frames.length; j += ROUTE_ENTRY_FRAMES) {
          const fields: string[] = [];
          for (const f of frames.slice(j, j + ROUTE_ENTRY_FRAMES)) fields.push(...encodeRouted(f));
          out.xadd(key, "MAXLEN", "~", this.routeMaxLen, "*", ...fields);
        }
        out.pexpire(key, this.routeTtlMs);
      }
      for (const [err] of (await out.exec()) ?? []) if (err) throw err;
    }
    this.flushes.inc();
    batch.forEach((p, j) => {
      p.resolve(receipts[j] ?? []);
    });
  }
}

function push(map: Map<string, RoutedFrame[]>, key: string, v: RoutedFrame): void {
  const list = map.get(key);
  if (list) list.push(v);
  else map.set(key, [v]);
}
