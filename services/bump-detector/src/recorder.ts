import type { BumpEvent } from "@bump/contracts";
import type Redis from "ioredis";
import type { Detection } from "./detector.ts";
import type { DetectorKeys } from "./keys.ts";
import recordBump from "./lua/recordBump-2.lua" with { type: "text" };

type RecordBump = (
  cooldownKey: string,
  bumps: string,
  cooldownMs: number,
  id: string,
  payload: string,
  cap: number,
) => Promise<[number, string | number]>;

/** Options of {@link BumpRecorder}. */
export interface RecorderOptions {
  redis: Redis;
  keys: DetectorKeys;
  /** A pair bumps at most once per this many ms. */
  cooldownMs: number;
  /** Approximate cap of the bumps stream. Default 1,000,000. */
  bumpsMaxLen?: number;
}

/** What one {@link BumpRecorder.record} call did. */
export interface RecordOutcome {
  /** Indexes (into the detections given) of the bumps appended to the stream, ascending. */
  appended: number[];
  /** Detections dropped because their pair was cooling down. */
  cooling: number;
}

/** Pairs remembered as cooling down, at most; the memo is dropped when full (Redis stays the authority). */
const MEMO_MAX = 500_000;

/**
 * Turns detections into bumps on the `bumps` stream. Each goes through one script that sets the pair's cooldown
 * marker (SET NX PX) and appends the bump atomically, so replaying detections after a crash never doubles a bump
 * and never loses one. All detections of a call go in one pipeline, in order.
 */
export class BumpRecorder {
  private readonly redis: Redis & { recordBump: RecordBump };
  /** Pair cooldown key -> wall-clock ms until which Redis said the pair cools down. */
  private readonly memo = new Map<string, number>();

  constructor(private readonly opts: RecorderOptions) {
    opts.redis.defineCommand("recordBump", { numberOfKeys: 2, lua: recordBump });
    this.redis = opts.redis as Redis & { recordBump: RecordBump };
  }

  /** Records `detections` in order; rejects when Redis fails (nothing is lost: replaying them is safe). */
  async record(detections: readonly Detection[]): Promise<RecordOutcome> {
    const outcome: RecordOutcome = { appended: [], cooling: 0 };
    if (detections.length === 0) return outcome;
    const now = Date.now();
    const pipe = this.redis.pipeline() as unknown as { recordBump: RecordBump; exec(): Promise<unknown> };
    const sent: { key: string; at: number }[] = [];
    const cap = this.opts.bumpsMaxLen ?? 1_000_000;
    detections.forEach((d, at) => {
      const key = this.opts.keys.cooldown(d.user_a, d.user_b);
      const until = this.memo.get(key);
      if (until !== undefined && until > now) {
        outcome.cooling++;
        return;
      }
      const event: BumpEvent = { ...d };
      pipe.recordBump(key, this.opts.keys.bumps.stream, this.opts.cooldownMs, d.id, JSON.stringify(event), cap);
      sent.push({ key, at });
    });
    if (sent.length === 0) return outcome;
    const results = ((await pipe.exec()) ?? []) as [Error | null, [number, string | number]][];
    if (results.length !== sent.length) throw new Error("bump pipeline returned a partial reply");
    if (this.memo.size > MEMO_MAX) this.memo.clear();
    results.forEach(([err, reply], i) => {
      if (err) throw err;
      const s = sent[i] as { key: string; at: number };
      const [done, info] = reply;
      if (done === 1) {
        outcome.appended.push(s.at);
        this.memo.set(s.key, now + this.opts.cooldownMs);
      } else {
        outcome.cooling++;
        const ttl = Number(info);
        if (ttl > 0) this.memo.set(s.key, now + ttl);
      }
    });
    return outcome;
  }
}
