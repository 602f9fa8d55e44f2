import type { GroupMessage } from "@bump/contracts";

/** How messages are merged into frames. */
export interface BurstOptions {
  /** Largest gap between two back-to-back messages of one sender in a burst, ms. Default 5,000. */
  burstMs?: number;
  /** Most messages in one frame. Default 50. */
  maxMessages?: number;
  /** Most text bytes (UTF-8) in one frame. Default 65,536. */
  maxBytes?: number;
}

/** Messages sent to members as one `message` frame: seqs `lo..hi`, consecutive. */
export interface FanoutUnit {
  readonly lo: number;
  readonly hi: number;
  readonly messages: readonly GroupMessage[];
}

const utf8 = new TextEncoder();

/**
 * Splits a group's pending messages (consecutive seqs, in order) into frames. A burst is a run of consecutive
 * seqs from one sender in which each message was stored at most `burstMs` after the previous one; a burst
 * waiting for fan-out together goes out as one frame (bounded by `maxMessages` and `maxBytes`). Every other
 * message is a frame of its own. Units are in seq order and cover every input message exactly once.
 */
export function planUnits(messages: readonly GroupMessage[], opts: BurstOptions = {}): FanoutUnit[] {
  const burstMs = opts.burstMs ?? 5_000;
  const maxMessages = opts.maxMessages ?? 50;
  const maxBytes = opts.maxBytes ?? 65_536;
  const units: FanoutUnit[] = [];
  let cur: GroupMessage[] = [];
  let bytes = 0;
  const flush = () => {
    const first = cur[0];
    const last = cur[cur.length - 1];
    if (first && last) units.push({ lo: first.seq, hi: last.seq, messages: cur });
    cur = [];
    bytes = 0;
  };
  for (const m of messages) {
    const prev = cur[cur.length - 1];
    const size = utf8.encode(m.text).length;
    const joins =
      prev !== undefined &&
      m.sender === prev.sender &&
      m.seq === prev.seq + 1 &&
      Date.parse(m.at) - Date.parse(prev.at) <= burstMs &&
      cur.length < maxMessages &&
      bytes + size <= maxBytes;
    if (!joins) flush();
    cur.push(m);
    bytes += size;
  }
  flush();
  return units;
}
