import type { Delivery } from "@bump/delivery";
import { type Logger, type Registry, silentLogger } from "@bump/service";
import type { RedisClient as Redis } from "@bump/streams";
import { type BurstOptions, type FanoutUnit, planUnits } from "./bursts.ts";
import { deliverChunked, unitFrame, unitFrameId } from "./chunked.ts";
import type { GroupsKeys } from "./keys.ts";
import { type GroupMetrics, groupMetrics } from "./metrics.ts";
import { type GroupScripts, withGroupScripts } from "./scripts.ts";
import type { GroupStore } from "./store.ts";

/** Fans one unit out to a group too large to deliver inline; resolves once every member has it. */
export type LargeFanout = (group: string, unit: FanoutUnit, members: number) => Promise<void>;

/** Options of {@link GroupFanout}. */
export interface GroupFanoutOptions {
  redis: Redis;
  store: GroupStore;
  delivery: Delivery;
  keys: GroupsKeys;
  /** Groups with at most this many members get each frame in one delivery call. Default 50. */
  inlineMax?: number;
  burst?: BurstOptions;
  /** Messages read per pass. Default 200. */
  readBatch?: number;
  /** TTL of the fan-out lock, refreshed while draining, ms. Default 30,000. */
  lockTtlMs?: number;
  /** How larger groups are fanned out. Default: {@link deliverChunked} in this process. */
  large?: LargeFanout;
  /** Members per chunk of the default large fan-out. Default 1,000. */
  chunk?: number;
  registry?: Registry;
  metrics?: GroupMetrics;
  logger?: Logger;
}

/** Per-group fan-out counts kept in the group's cursor. */
export interface GroupFanoutStats {
  /** Highest seq in every member's history. */
  delivered_seq: number;
  messages: number;
  frames: number;
  bursts: number;
}

function token(): string {
  return `${process.pid}-${crypto.randomUUID()}`;
}

/**
 * Fans a group's stored messages out to its members as reliable `message` frames. One drainer per group at a
 * time (a Redis lock; a drain asked for while another runs makes that one look again before it lets go), so a
 * group's frames are appended to each member's history in seq order, every seq exactly once: the unit in flight
 * is recorded before delivery and finished unchanged after a crash, its frame id makes redelivery show nothing
 * twice, and the cursor moves only after every member has the unit.
 */
export class GroupFanout {
  private readonly redis: Redis & GroupScripts;
  private readonly inlineMax: number;
  private readonly readBatch: number;
  private readonly ttl: number;
  private readonly large: LargeFanout;
  private readonly metrics: GroupMetrics;
  private readonly log: Logger;

  constructor(private readonly opts: GroupFanoutOptions) {
    this.redis = withGroupScripts(opts.redis);
    this.inlineMax = opts.inlineMax ?? 50;
    this.readBatch = opts.readBatch ?? 200;
    this.ttl = opts.lockTtlMs ?? 30_000;
    this.metrics = opts.metrics ?? groupMetrics(opts.registry);
    this.log = opts.logger ?? silentLogger;
    this.large =
      opts.large ??
      (async (group, unit) => {
        await deliverChunked({
          store: opts.store,
          delivery: opts.delivery,
          group,
          unit,
          chunk: opts.chunk,
          onChunk: () => this.metrics.chunks.inc(),
        });
      });
  }

  /**
   * Delivers every message of `group` after its cursor, then returns true; returns false at once when another
   * drainer holds the group (it will drain again before it lets go). Throws when Redis or Postgres failed: drain
   * again later (nothing is shown twice).
   */
  async drain(group: string): Promise<boolean> {
    const k = this.opts.keys.group(group);
    const me = token();
    if ((await this.redis.acquireDrain(k.lock, k.dirty, me, this.ttl)) !== 1) {
      this.metrics.drains.inc(["busy"]);
      return false;
    }
    const keepAlive = setInterval(() => {
      this.redis.acquireDrain(k.lock, k.dirty, me, this.ttl).catch(() => {});
    }, this.ttl / 3);
    try {
      for (;;) {
        const [doneText, unitText] = await this.redis.hmget(k.cursor, "done", "unit");
        const done = Number(doneText ?? 0);
        const [lo, hi] = (unitText ?? "0:0").split(":").map(Number) as [number, number];
        let units: FanoutUnit[];
        if (unitText && lo > done) {
          units = [{ lo, hi, messages: await this.opts.store.messages(group, lo - 1, hi - lo + 1, hi) }];
        } else {
          const pending = await this.opts.store.messages(group, done, this.readBatch);
          if (!pending.length) {
            const released = await this.redis.releaseDrain(k.lock, k.dirty, me, this.ttl, 0);
            if (released === 1) break;
            if (released === -1) throw new Error(`fan-out lock of group ${group} expired`);
            continue;
          }
          units = planUnits(pending, this.opts.burst);
        }
        for (const unit of units) await this.fanUnit(group, unit, me);
      }
      this.metrics.drains.inc(["drained"]);
      return true;
    } catch (err) {
      this.metrics.drains.inc(["failed"]);
      await this.redis.releaseDrain(k.lock, k.dirty, me, this.ttl, 1).catch(() => {});
      throw err;
    } finally {
      clearInterval(keepAlive);
    }
  }

  /** The group's fan-out counts. */
  async stats(group: string): Promise<GroupFanoutStats> {
    const [done, messages, frames, bursts] = await this.redis.hmget(
      this.opts.keys.group(group).cursor,
      "done",
      "messages",
      "frames",
      "bursts",
    );
    return {
      delivered_seq: Number(done ?? 0),
      messages: Number(messages ?? 0),
      frames: Number(frames ?? 0),
      bursts: Number(bursts ?? 0),
    };
  }

  private async fanUnit(group: string, unit: FanoutUnit, me: string): Promise<void> {
    const k = this.opts.keys.group(group);
    await this.redis.hset(k.cursor, "unit", `${unit.lo}:${unit.hi}`);
    let mode: "inline" | "chunked" = "inline";
    let reached = 0;
    if (unit.messages.length) {
      const first = await this.opts.store.members(group, "", this.inlineMax + 1);
      if (first.length <= this.inlineMax) {
        await this.opts.delivery.deliver(first, unitFrame(group, unit), {
          reliable: true,
          id: unitFrameId(group, unit),
        });
        reached = first.length;
      } else {
        mode = "chunked";
        reached = await this.opts.store.memberCount(group);
        await this.large(group, unit, reached);
      }
    }
    const ok = await this.redis.commitUnit(k.cursor, k.lock, me, unit.hi, unit.messages.length, this.ttl);
    if (ok !== 1) throw new Error(`fan-out lock of group ${group} expired`);
    const newest = unit.messages[unit.messages.length - 1];
    this.metrics.messages.inc([mode], unit.messages.length);
    this.metrics.frames.inc([mode]);
    if (unit.messages.length > 1) this.metrics.bursts.inc([mode]);
    this.metrics.members.inc([mode], reached);
    if (newest) this.metrics.latency.observe([mode], Math.max(0, Date.now() - Date.parse(newest.at)) / 1000);
    this.log.debug("group unit fanned out", { group, lo: unit.lo, hi: unit.hi, mode, members: reached });
  }
}
