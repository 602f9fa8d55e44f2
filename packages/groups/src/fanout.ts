import type { Delivery } from "@bump/delivery";
import { type Logger, type Registry, silentLogger } from "@bump/service";
import type { RedisClient as Redis } from "@bump/streams";
import { type BurstOptions, type FanoutUnit, planUnits } from "./bursts.ts";
import { deliverChunked, deliverUnits } from "./chunked.ts";
import type { GroupsKeys } from "./keys.ts";
import { type FanoutMode, type GroupMetrics, groupMetrics } from "./metrics.ts";
import { decodePlan, encodePlan, splitUnits } from "./pass.ts";
import { type GroupScripts, withGroupScripts } from "./scripts.ts";
import type { GroupStore } from "./store.ts";

/**
 * Fans the units of one pass out to a group too large to deliver inline; resolves once every member has every
 * unit's frame, in unit order.
 */
export type LargeFanout = (group: string, units: readonly FanoutUnit[], members: number) => Promise<void>;

/** Options of {@link GroupFanout}. */
export interface GroupFanoutOptions {
  redis: Redis;
  store: GroupStore;
  delivery: Delivery;
  keys: GroupsKeys;
  /** Groups with at most this many members get each frame in one delivery call. Default 50. */
  inlineMax?: number;
  burst?: BurstOptions;
  /** Messages read per pass; every unit of a pass is delivered in one round. Default 200. */
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
      (async (group, units) => {
        await deliverChunked({
          store: opts.store,
          delivery: opts.delivery,
          group,
          units,
          chunk: opts.chunk,
          onChunk: () => this.metrics.chunks.inc(),
        });
      });
  }

  /**
   * Delivers every message of `group` after its cursor, then returns true; returns false at once when another
   * drainer holds the group (it will drain again before it lets go). Throws when Redis or Postgres failed: drain
   * again later (nothing is shown twice).
   *
   * Works in passes: a pass is every message pending when it is read (at most `readBatch`), planned into units
   * (frames) and recorded before any is delivered; all units of a pass go to each member in one delivery round, in
   * seq order. The first pass is read before the lock is taken (one script call takes the lock and records it, if
   * the cursor has not moved); each next pass is read before the cursor moves, so one script call moves the cursor
   * and records it, or lets go of the lock.
   */
  async drain(group: string): Promise<boolean> {
    const k = this.opts.keys.group(group);
    const me = token();
    const [doneText, planText] = await this.redis.hmget(k.cursor, "done", "unit");
    const recorded = decodePlan(planText);
    let first: Pass | undefined;
    if (!recorded.length || (recorded[0]?.lo ?? 0) <= Number(doneText ?? 0)) {
      // Planned before taking the lock. Nothing pending after `done` means every message stored before this call
      // is in every member's history already (the cursor moves only after delivery): done, without the lock.
      first = await this.plan(group, Number(doneText ?? 0));
      if (!first) {
        this.metrics.drains.inc(["drained"]);
        return true;
      }
    }
    const got = first
      ? await this.redis.acquirePass(
          k.lock,
          k.dirty,
          k.cursor,
          me,
          this.ttl,
          Number(doneText ?? 0),
          encodePlan(first.units),
        )
      : await this.redis.acquireDrain(k.lock, k.dirty, me, this.ttl);
    if (got === 0) {
      this.metrics.drains.inc(["busy"]);
      return false;
    }
    const keepAlive = setInterval(() => {
      this.redis.acquireDrain(k.lock, k.dirty, me, this.ttl).catch(() => {});
    }, this.ttl / 3);
    try {
      let done = Number(doneText ?? 0);
      let pass = got === 1 ? first : undefined;
      if (!pass) {
        // Locked without a recorded pass of ours: read the cursor again under the lock. A pass recorded by a
        // drainer that did not finish it is delivered again unchanged.
        const [doneNow, planNow] = await this.redis.hmget(k.cursor, "done", "unit");
        done = Number(doneNow ?? 0);
        const inFlight = decodePlan(planNow);
        if (inFlight.length && (inFlight[0]?.lo ?? 0) > done) pass = await this.replay(group, inFlight);
      }
      for (;;) {
        if (!pass) {
          pass = await this.plan(group, done);
          if (!pass) {
            const released = await this.redis.releaseDrain(k.lock, k.dirty, me, this.ttl, 0);
            if (released === 1) break;
            if (released === -1) throw new Error(`fan-out lock of group ${group} expired`);
            continue;
          }
          if ((await this.redis.recordPass(k.cursor, k.lock, me, encodePlan(pass.units), this.ttl)) !== 1) {
            throw new Error(`fan-out lock of group ${group} expired`);
          }
        }
        const reached = await this.deliver(group, pass);
        const last = pass.units[pass.units.length - 1] as FanoutUnit;
        const ahead = await this.plan(group, last.hi);
        let messages = 0;
        let bursts = 0;
        for (const u of pass.units) {
          messages += u.messages.length;
          if (u.messages.length > 1) bursts++;
        }
        const committed = await this.redis.commitPass(
          k.cursor,
          k.lock,
          k.dirty,
          me,
          last.hi,
          messages,
          pass.units.length,
          bursts,
          this.ttl,
          ahead ? encodePlan(ahead.units) : "",
          1,
        );
        if (committed === 0) throw new Error(`fan-out lock of group ${group} expired`);
        this.observe(group, pass, reached);
        done = last.hi;
        pass = ahead;
        if (!ahead && committed === 1) break;
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

  /** The next pass after seq `done`, with the members when the group is inline; undefined when none is pending. */
  private async plan(group: string, done: number): Promise<Pass | undefined> {
    const { messages, members } = await this.opts.store.pending(group, done, this.readBatch, this.inlineMax + 1);
    if (!messages.length) return undefined;
    return { units: planUnits(messages, this.opts.burst), first: members };
  }

  /** The recorded pass `plan`, read again from the store. */
  private async replay(group: string, plan: readonly { lo: number; hi: number }[]): Promise<Pass> {
    const lo = (plan[0] as { lo: number }).lo;
    const hi = (plan[plan.length - 1] as { hi: number }).hi;
    const { messages, members } = await this.opts.store.pending(group, lo - 1, hi - lo + 1, this.inlineMax + 1, hi);
    return { units: splitUnits(messages, plan), first: members };
  }

  /** Delivers every unit of `pass` to every member, in unit order; answers the mode and the members reached. */
  private async deliver(group: string, pass: Pass): Promise<{ mode: FanoutMode; members: number }> {
    if (!pass.units.some((u) => u.messages.length)) return { mode: "inline", members: 0 };
    if (pass.first.length <= this.inlineMax) {
      await deliverUnits(this.opts.delivery, pass.first, group, pass.units);
      return { mode: "inline", members: pass.first.length };
    }
    const members = await this.opts.store.memberCount(group);
    await this.large(group, pass.units, members);
    return { mode: "chunked", members };
  }

  private observe(group: string, pass: Pass, reached: { mode: FanoutMode; members: number }): void {
    const { mode, members } = reached;
    const now = Date.now();
    for (const unit of pass.units) {
      const newest = unit.messages[unit.messages.length - 1];
      this.metrics.messages.inc([mode], unit.messages.length);
      this.metrics.frames.inc([mode]);
      if (unit.messages.length > 1) this.metrics.bursts.inc([mode]);
      if (unit.messages.length) this.metrics.members.inc([mode], members);
      if (newest) this.metrics.latency.observe([mode], Math.max(0, now - Date.parse(newest.at)) / 1000);
    }
    const first = pass.units[0] as FanoutUnit;
    const last = pass.units[pass.units.length - 1] as FanoutUnit;
    this.log.debug("group pass fanned out", {
      group,
      lo: first.lo,
      hi: last.hi,
      units: pass.units.length,
      mode,
      members,
    });
  }
}

/** One pass: its units in seq order and the group's first `inlineMax + 1` members. */
interface Pass {
  readonly units: readonly FanoutUnit[];
  readonly first: readonly string[];
}
