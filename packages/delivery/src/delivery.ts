import { type Logger, Registry, silentLogger } from "@bump/service";
import { isCluster, keySlot, type RedisClient as Redis, SlotBatch } from "@bump/streams";
import type { HistoryWindow } from "./history.ts";
import type { DeliveryKeys } from "./keys.ts";
import type { Presence } from "./presence.ts";
import { RouteSet } from "./route-set.ts";
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
  /**
   * How long a user's sequence and history live at least after their last reliable frame, ms (at most 5/4 of it: the
   * expiry is moved ahead by a quarter at a time). Default 86,400,000.
   */
  retentionMs?: number;
  /** Approximate cap of each `deliver:{gateway}` stream. Default 100,000 entries. */
  routeMaxLen?: number;
  /** A gateway stream nobody wrote to for this long expires, ms. Default 600,000. */
  routeTtlMs?: number;
  /**
   * How long the append script may take a user to be on no gateway once it read so from the presence set, ms:
   * registrations note a user's gateways where the script reads them, and this bounds one it did not see. Default:
   * the presence's `ttlMs` when it has one, else 30,000.
   */
  presenceTtlMs?: number;
  /**
   * Frames appended by one script call, about (up to twice as many on one server, so that each user's
   * frames of a flush share a call). Default 500. On a cluster a call holds the users of one slot.
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
 * pipeline of append scripts and presence lookup scripts (each for a chunk of users, a user's frames in one chunk),
 * then one XADD per gateway (each frame once for all its users there); calls made while a flush runs go in the next.
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
  private readonly presenceTtlMs: number;
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
    this.presenceTtlMs = opts.presenceTtlMs ?? (opts.presence as { ttlMs?: number }).ttlMs ?? 30_000;
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
    // Reliable frames: one append script per chunk of users, each user's frames in the order of the deliver calls; on
    // a cluster a chunk holds users of one slot only, as a script touches one slot.
    const calls: Call[] = [];
    const open = new Map<number, Call>();
    const cluster = isCluster(this.redis);
    const epochBase = newEpoch();
    // Volatile frames: one presence lookup script per chunk of users (of one slot on a cluster).
    const lookups: Lookup[] = [];
    const openLookups = new Map<number, Lookup>();
    // A user's frames of one flush go to one call, which reads the user once: users are split into calls by slot (on
    // one server, by a hash of the user id modulo the number of calls the flush needs).
    let reliable = 0;
    for (const p of batch) if (p.opts.reliable) reliable += p.users.length;
    const buckets = cluster ? 0 : Math.ceil(reliable / this.usersPerScript);
    batch.forEach((p, pi) => {
      if (!p.opts.reliable) {
        for (const u of p.users) {
          const key = this.opts.keys.presence(u);
          const chunk = cluster ? keySlot(key) : 0;
          let lookup = openLookups.get(chunk);
          if (!lookup || lookup.keys.length >= this.usersPerScript) {
            lookup = { keys: [], users: [] };
            openLookups.set(chunk, lookup);
            lookups.push(lookup);
          }
          lookup.keys.push(key);
          lookup.users.push({ p: pi, user: u });
        }
        return;
      }
      for (const u of p.users) {
        const chunk = cluster ? keySlot(this.opts.keys.meta(u)) : buckets > 1 ? hashOf(u) % buckets : 0;
        let call = open.get(chunk);
        if (!call || call.users.length >= this.usersPerScript * (cluster ? 1 : 2)) {
          call = {
            users: [],
            items: [],
            who: [],
            ks: [],
            distinct: new Map(),
            first: [],
            more: [],
            line: [],
            frames: [],
            last: -1,
          };
          open.set(chunk, call);
          calls.push(call);
        }
        if (call.last !== pi) {
          // the frame without its opening brace, as history keeps it
          call.frames.push(p.text.slice(1), p.opts.id ?? "");
          call.last = pi;
        }
        const k = call.frames.length / 2;
        let d = call.distinct.get(u);
        if (d === undefined) {
          d = call.first.length;
          call.distinct.set(u, d);
          call.first.push(k);
          call.more.push(undefined);
        } else {
          const more = call.more[d];
          if (more) more.push(k);
          else call.more[d] = [k];
        }
        call.users.push(u);
        call.items.push(pi);
        call.who.push(d);
        call.ks.push(k);
      }
    });
    for (const l of lookups) {
      (pipe.for(l.keys[0] ?? "") as unknown as DeliveryScripts).lookupGateways(l.keys.length, ...l.keys);
    }
    for (const c of calls) {
      // Users that get the same frames form a group; the script takes the users group by group, each user once.
      const groups = new Map<number | string, { users: number[]; ks: number[] }>();
      const { first, more } = c;
      for (let d = 0; d < first.length; d++) {
        const k = first[d] as number;
        const rest = more[d];
        const key = rest ? `${k},${rest.join(",")}` : k;
        let g = groups.get(key);
        if (!g) {
          g = { users: [], ks: rest ? [k, ...rest] : [k] };
          groups.set(key, g);
        }
        g.users.push(d);
      }
      const users = [...c.distinct.keys()];
      const keys: string[] = [];
      const tail: (string | number)[] = [];
      for (const g of groups.values()) {
        tail.push(g.users.length, g.ks.length, ...g.ks);
        for (const d of g.users) {
          c.line[d] = keys.length;
          keys.push(this.opts.keys.meta(users[d] as string));
        }
      }
      (pipe.for(keys[0] ?? "") as unknown as DeliveryScripts).appendFrames(
        keys.length,
        ...keys,
        `${epochBase}x`,
        this.maxLen,
        this.windowMs,
        this.idTtl,
        this.retentionMs,
        this.presenceTtlMs,
        c.frames.length / 2,
        ...c.frames,
        ...tail,
      );
    }
    const res = await pipe.exec();
    const routes = new RouteSet();
    const receipts: DeliverReceipt[][] = batch.map(() => []);
    let i = 0;
    let volatile = 0;
    for (const l of lookups) {
      const [err, reply] = res[i++] ?? [new Error("missing reply"), null];
      if (err) throw err;
      const lines = String(reply).split("\n");
      volatile += l.users.length;
      routes.next();
      for (let j = 0; j < l.users.length; j++) {
        const lu = l.users[j] as { p: number; user: string };
        const p = batch[lu.p] as Pending;
        const line = lines[j] ?? "";
        const gateways = line ? line.split(" ") : [];
        receipts[lu.p]?.push({ user: lu.user, gateways });
        if (p.opts.route === false) continue;
        for (const g of gateways) routes.add(g, lu.p, p.text, p.opts.coalesceKey ?? "", lu.user);
      }
    }
    for (const c of calls) {
      const [err, reply] = res[i++] ?? [new Error("missing reply"), null];
      if (err) throw err;
      const lines = String(reply).split("\n");
      // Per user in KEYS order: sequence before this call's frames, epoch, gateways.
      const n = c.first.length;
      const epochs: string[] = new Array(n);
      const seqs: number[] = new Array(n);
      const gws: string[][] = new Array(n);
      // The users of one call are mostly on the same gateways: one array per run of the same list.
      let gwText = "";
      let gwList: string[] = [];
      for (let u = 0; u < n; u++) {
        // `<first new seq> <deadline> <epoch> <until>[ <gateway>...]`
        const line = lines[u] ?? "";
        const a = line.indexOf(" ");
        const b = line.indexOf(" ", a + 1);
        const e = line.indexOf(" ", b + 1);
        seqs[u] = Number(line.slice(0, a)) - 1;
        epochs[u] = e < 0 ? line.slice(b + 1) : line.slice(b + 1, e);
        const gw = e < 0 ? -1 : line.indexOf(" ", e + 1);
        const text = gw < 0 ? "" : line.slice(gw + 1);
        if (text !== gwText) {
          gwText = text;
          gwList = text ? text.split(" ") : [];
        }
        gws[u] = gwList;
      }
      // Frames already appended: `<KEYS index (1-based)> <frame number>` -> the earlier offset.
      let known: Map<string, string> | undefined;
      for (let k = n; k < lines.length; k++) {
        const line = lines[k] as string;
        if (!line) continue;
        const sp = line.lastIndexOf(" ");
        known ??= new Map();
        known.set(line.slice(1, sp), line.slice(sp + 1));
      }
      routes.next();
      for (let j = 0; j < c.users.length; j++) {
        const user = c.users[j] as string;
        const pi = c.items[j] as number;
        const u = c.line[c.who[j] as number] as number;
        const p = batch[pi] as Pending;
        const gateways = gws[u] as string[];
        const prior = known?.get(`${u + 1} ${c.ks[j]}`);
        let offset = prior;
        if (offset === undefined) {
          const seq = (seqs[u] as number) + 1;
          seqs[u] = seq;
          offset = `${epochs[u]}:${seq}`;
        }
        receipts[pi]?.push({ user, offset, created: prior === undefined, gateways });
        if (p.opts.route === false) continue;
        for (const g of gateways) {
          if (prior === undefined) routes.add(g, pi, p.text, null, `${user} ${offset}`);
          else {
            const colon = offset.lastIndexOf(":");
            const seq = Number(offset.slice(colon + 1));
            routes.of(g).frames.push({ kind: "nudge", user, epoch: offset.slice(0, colon), seq });
          }
        }
      }
    }
    if (volatile) this.frames.inc(["volatile"], volatile);
    if (calls.length)
      this.frames.inc(
        ["reliable"],
        calls.reduce((n, c) => n + c.users.length, 0),
      );
    if (routes.byGateway.size) {
      const out = new SlotBatch(this.redis);
      routes.queue(out, this.opts.keys, this.routeMaxLen, this.routeTtlMs);
      for (const [err] of await out.exec()) if (err) throw err;
    }
    this.flushes.inc();
    batch.forEach((p, j) => {
      p.resolve(receipts[j] ?? []);
    });
  }
}

/** A cheap, stable hash of a string (31-multiplier, unsigned 32 bits). */
function hashOf(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h >>> 0;
}

/** One append script call: its users (each once, with its frames) and their frames. */
interface Call {
  /** Each (user, frame) in batch item order: the user, the batch item, the user's index in `first`, the frame number. */
  users: string[];
  items: number[];
  who: number[];
  ks: number[];
  /** Distinct users in order of first appearance -> index. */
  distinct: Map<string, number>;
  /** Per distinct user: its first frame number (1-based), and its further ones. */
  first: number[];
  more: (number[] | undefined)[];
  /** Per distinct user: its index in the script's KEYS (and line of the reply). */
  line: number[];
  /** Per frame: its text without the opening brace, its id (or ""). */
  frames: string[];
  /** The batch item of the last frame. */
  last: number;
}

/** One presence lookup script call: the users' presence keys, and each user with the batch item it came from. */
interface Lookup {
  keys: string[];
  users: { p: number; user: string }[];
}
