import type { BumpEvent } from "@bump/contracts";
import type { RedisClient as Redis } from "@bump/streams";
import type { Detection } from "./detector.ts";
import type { DetectorKeys } from "./keys.ts";
import recordBumps from "./lua/recordBumps-1n.lua" with { type: "text" };

type RecordBumps = (numKeys: number, ...args: (string | number)[]) => Promise<(string | number)[]>;

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
 * Turns detections into bumps on the `bumps` stream. One script call per batch sets each pair's cooldown marker
 * (SET NX PX) and appends its bump, atomically, so replaying detections after a crash never doubles a bump and
 * never loses one. Pairs Redis already reported as cooling down are skipped without a round trip (the memo).
 */
export class BumpRecorder {
  private readonly redis: Redis & { recordBumps: RecordBumps };
  /** First user -> second user of a pair -> wall-clock ms until which Redis said the pair cools down. */
  private readonly memo = new Map<string, Map<string, number>>();
  private memoSize = 0;

  constructor(private readonly opts: RecorderOptions) {
    opts.redis.defineCommand("recordBumps", { lua: recordBumps });
    this.redis = opts.redis as Redis & { recordBumps: RecordBumps };
  }

  /** Records `detections` in order; rejects when Redis fails (nothing is lost: replaying them is safe). */
  async record(detections: readonly Detection[]): Promise<RecordOutcome> {
    const outcome: RecordOutcome = { appended: [], cooling: 0 };
    if (detections.length === 0) return outcome;
    const now = Date.now();
    const { keys, cooldownMs } = this.opts;
    const cooldownKeys: string[] = [];
    const args: (string | number)[] = [cooldownMs, this.opts.bumpsMaxLen ?? 1_000_000];
    const sent: number[] = [];
    const batchKeys = new Set<string>();
    for (let i = 0; i < detections.length; i++) {
      const d = detections[i] as Detection;
      const until = this.memo.get(d.user_a)?.get(d.user_b);
      if (until !== undefined && until > now) {
        outcome.cooling++;
        continue;
      }
      const key = keys.cooldown(d.user_a, d.user_b);
      // a pair found twice in one batch is sent once: the script would only report its cooldown
      if (batchKeys.has(key)) {
        outcome.cooling++;
        continue;
      }
      batchKeys.add(key);
      cooldownKeys.push(key);
      args.push(d.id, bumpJson(d));
      sent.push(i);
    }
    if (sent.length === 0) return outcome;
    const replies = await this.redis.recordBumps(1 + cooldownKeys.length, keys.bumps.stream, ...cooldownKeys, ...args);
    if (replies.length !== sent.length) throw new Error("bump script returned a partial reply");
    if (this.memoSize > MEMO_MAX) {
      this.memo.clear();
      this.memoSize = 0;
    }
    for (let j = 0; j < sent.length; j++) {
      const reply = replies[j];
      const d = detections[sent[j] as number] as Detection;
      if (typeof reply === "string") {
        outcome.appended.push(sent[j] as number);
        this.remember(d, now + cooldownMs);
      } else {
        outcome.cooling++;
        if (Number(reply) > 0) this.remember(d, now + Number(reply));
      }
    }
    return outcome;
  }

  private remember(d: Detection, until: number): void {
    let second = this.memo.get(d.user_a);
    if (second === undefined) {
      second = new Map();
      this.memo.set(d.user_a, second);
    }
    if (!second.has(d.user_b)) this.memoSize++;
    second.set(d.user_b, until);
  }
}

/** The bump's {@link BumpEvent} JSON. */
function bumpJson(d: Detection): string {
  const event: BumpEvent = {
    id: d.id,
    user_a: d.user_a,
    user_b: d.user_b,
    distance_m: d.distance_m,
    latitude: d.latitude,
    longitude: d.longitude,
    at: d.at,
    cell: d.cell,
  };
  return JSON.stringify(event);
}
