import { formatOffset, parseOffset } from "@bump/contracts";
import { type RedisClient as Redis, SlotBatch } from "@bump/streams";
import type { DeliveryKeys } from "./keys.ts";
import { type DeliveryScripts, withDeliveryScripts } from "./scripts.ts";

/** The window a user's history keeps: the last `maxLen` frames and at most `windowMs` of age. */
export interface HistoryWindow {
  /** Frames kept per user (approximate cap: at least this many). Default 300. */
  maxLen?: number;
  /** Age of the oldest frame kept, ms. Default 600,000 (10 minutes). */
  windowMs?: number;
}

/** One reliable frame from history; `text` is the JSON frame with its `offset`. */
export interface HistoryFrame {
  readonly seq: number;
  readonly text: string;
}

/** Where a user's sequence stands: `epoch` `null` when the user has no history yet. */
export interface Head {
  readonly epoch: string | null;
  readonly seq: number;
}

/**
 * The answer of {@link HistoryReader.readAfter}. `frames` are exactly the frames of `head.epoch` numbered
 * `after + 1 .. head.seq`: a reader that applies them stands at `head`, and at `after` when there are none.
 */
export type ReadResult =
  | { kind: "frames"; head: Head; after: number; frames: HistoryFrame[] }
  | { kind: "resync"; reason: "epoch_changed" | "history_gone" | "offset_ahead"; head: Head };

/**
 * Reads users' reliable frames back from their histories: what a resume replays and what a gateway fills gaps
 * with. Frames come oldest first with consecutive sequences, or the answer is `resync`.
 */
export class HistoryReader {
  private readonly redis: Redis & DeliveryScripts;
  private readonly maxLen: number;
  private readonly windowMs: number;

  constructor(
    redis: Redis,
    private readonly keys: DeliveryKeys,
    window: HistoryWindow = {},
  ) {
    this.redis = withDeliveryScripts(redis);
    this.maxLen = window.maxLen ?? 300;
    this.windowMs = window.windowMs ?? 600_000;
  }

  /**
   * Every frame after `since` (`epoch`, `seq`) in order. `epoch` `null` means "from the start of whatever epoch
   * the user has". `resync` when the user's epoch differs from `since`'s, or the window no longer covers
   * `since.seq + 1`, or `since` is ahead of the head. Frames beyond `limit` (default the history cap) are not read:
   * `resync` too.
   */
  async readAfter(user: string, since: Head, limit = this.maxLen * 2): Promise<ReadResult> {
    const k = this.keys.user(user);
    const reply = await this.redis.readSince(
      k.meta,
      k.history,
      since.epoch === null ? 0 : since.seq,
      this.windowMs,
      limit,
    );
    const epoch = (reply[0] as string) || null;
    const head: Head = { epoch, seq: Number(reply[1]) };
    const after = since.epoch === null || since.epoch !== epoch ? 0 : since.seq;
    if (since.epoch !== null && since.epoch !== epoch) {
      return { kind: "resync", reason: epoch === null ? "history_gone" : "epoch_changed", head };
    }
    if (after > head.seq) return { kind: "resync", reason: "offset_ahead", head };
    const frames: HistoryFrame[] = [];
    for (let i = 2; i + 1 < reply.length; i += 2) {
      frames.push({ seq: Number(reply[i]), text: String(reply[i + 1]) });
    }
    const want = head.seq - after;
    if (frames.length !== want || (want > 0 && frames[0]?.seq !== after + 1)) {
      return { kind: "resync", reason: "history_gone", head };
    }
    return { kind: "frames", head, after, frames };
  }

  /** Like {@link readAfter} from a client offset string; an unparsable offset answers `resync`. */
  async readSince(user: string, offset: string): Promise<ReadResult> {
    const parsed = parseOffset(offset);
    if (!parsed) return { kind: "resync", reason: "history_gone", head: await this.head(user) };
    return this.readAfter(user, parsed);
  }

  /** The head of one user. */
  async head(user: string): Promise<Head> {
    return (await this.heads([user])).get(user) ?? { epoch: null, seq: 0 };
  }

  /** The heads of many users in one pipeline (one per master on a cluster). */
  async heads(users: readonly string[]): Promise<Map<string, Head>> {
    const pipe = new SlotBatch(this.redis);
    for (const u of users) {
      const meta = this.keys.user(u).meta;
      pipe.for(meta).hmget(meta, "e", "s");
    }
    const res = await pipe.exec();
    const out = new Map<string, Head>();
    users.forEach((u, i) => {
      const [err, v] = res[i] ?? [null, null];
      if (err) throw err;
      const [e, s] = (v as (string | null)[] | null) ?? [null, null];
      out.set(u, e ? { epoch: e, seq: Number(s) } : { epoch: null, seq: 0 });
    });
    return out;
  }
}

/** The offset string of a head, or `null` when the user has no history. */
export function headOffset(head: Head): string | null {
  return head.epoch === null ? null : formatOffset(head.epoch, head.seq);
}
