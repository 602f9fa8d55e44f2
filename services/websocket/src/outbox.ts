import type { GatewayMetrics } from "./metrics.ts";

/** The part of a server WebSocket an outbox writes to. */
export interface SendTarget {
  send(text: string): number;
  getBufferedAmount(): number;
  close(code?: number, reason?: string): void;
  /** Runs `fn` with the socket's writes batched into one (Bun's `cork`); absent: writes go one by one. */
  cork?(fn: () => void): unknown;
}

/** Limits of an {@link Outbox}. */
export interface OutboxLimits {
  /** Frames wait in the outbox while the socket buffers more than this many bytes. Default 64 KiB. */
  highWaterBytes: number;
  /** Past this many bytes waiting, volatile frames are dropped, then the socket is closed with 4008. Default 1 MiB. */
  maxBytes: number;
}

/** The socket and frames of the corked write in progress (a cork runs its callback at once). */
let corkTarget: SendTarget | undefined;
let corkHeld: string[] = [];
function sendCorked(): void {
  for (const text of corkHeld) corkTarget?.send(text);
}

interface Entry {
  text: string;
  /** Coalescing key of a volatile frame. */
  key: string | null;
  volatile: boolean;
}

/**
 * A per-connection send queue over the socket's own buffer. Frames go straight to the socket while its buffer is
 * under the high-water mark; otherwise they wait here and flush on `drain`. Waiting volatile frames with the same
 * key are coalesced (latest wins, first position kept) and are dropped first when the outbox is over its byte
 * limit; if reliable frames alone keep it over the limit, the socket is closed with 4008 (the client resumes).
 * Memory per connection stays under `highWaterBytes + maxBytes` plus one frame.
 */
export class Outbox {
  private queue: Entry[] = [];
  private head = 0;
  private readonly byKey = new Map<string, Entry>();
  private bytes = 0;
  private closed = false;
  /** Frames written while held (`holding`); sent together by {@link release}. Kept between holds. */
  private readonly held: string[] = [];
  private holding = false;
  /** Whether frames written while held go straight to `held` (the socket was under its high-water mark). */
  private heldOpen = false;

  constructor(
    private readonly ws: SendTarget,
    private readonly limits: OutboxLimits,
    private readonly metrics: GatewayMetrics,
  ) {}

  /** Bytes waiting in this outbox (not counting the socket's own buffer). */
  get waitingBytes(): number {
    return this.bytes;
  }

  /** True once the outbox closed its socket. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends a frame that must not be dropped (reliable frames and control answers). */
  reliable(text: string): void {
    this.enqueue(text, null, false);
  }

  /** Sends a volatile frame; with `key`, a waiting frame of the same key is replaced. */
  volatile(text: string, key: string | null): void {
    this.enqueue(text, key === "" ? null : key, true);
  }

  /** Flushes waiting frames while the socket buffer is under the high-water mark. Call from `drain`. */
  drain(): void {
    while (this.head < this.queue.length && !this.closed) {
      if (this.ws.getBufferedAmount() > this.limits.highWaterBytes) return;
      const e = this.queue[this.head] as Entry;
      this.queue[this.head++] = undefined as unknown as Entry;
      if (e.key !== null) this.byKey.delete(e.key);
      this.bytes -= e.text.length;
      this.write(e.text);
    }
    if (this.head >= this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
  }

  /**
   * Holds writes until {@link release}, which sends them in order in one corked write. The dispatcher holds a
   * socket's writes for one read of its stream, so a socket that gets many frames at once pays one write. True
   * when the outbox was not held yet (the caller then owes one {@link release}).
   */
  hold(): boolean {
    if (this.holding) return false;
    this.holding = true;
    // Nothing is written while held, so the socket's buffer stays what it is now.
    this.heldOpen = this.head >= this.queue.length && this.ws.getBufferedAmount() <= this.limits.highWaterBytes;
    return true;
  }

  /** Sends what {@link hold} kept, in order. */
  release(): void {
    const held = this.held;
    this.holding = false;
    const n = held.length;
    if (!n) return;
    if (this.closed) {
      held.length = 0;
      return;
    }
    if (n === 1) this.ws.send(held[0] as string);
    else if (this.ws.cork) {
      corkTarget = this.ws;
      corkHeld = held;
      this.ws.cork(sendCorked);
      corkTarget = undefined;
    } else for (const text of held) this.ws.send(text);
    held.length = 0;
    this.metrics.sentSeries.inc(n);
    this.metrics.writesSeries.inc();
  }

  /** Forgets everything waiting; the socket is gone. */
  discard(): void {
    this.closed = true;
    this.queue = [];
    this.head = 0;
    this.byKey.clear();
    this.bytes = 0;
    this.holding = false;
    this.held.length = 0;
  }

  private write(text: string): void {
    this.ws.send(text);
    this.metrics.sentSeries.inc();
    this.metrics.writesSeries.inc();
  }

  private enqueue(text: string, key: string | null, volatile: boolean): void {
    if (this.closed) return;
    if (this.holding) {
      if (this.heldOpen && this.head >= this.queue.length) {
        this.held.push(text);
        return;
      }
    } else if (this.head >= this.queue.length && this.ws.getBufferedAmount() <= this.limits.highWaterBytes) {
      this.write(text);
      return;
    }
    const prior = key === null ? undefined : this.byKey.get(key);
    if (prior) {
      this.bytes += text.length - prior.text.length;
      prior.text = text;
      this.metrics.coalesced.inc();
      return;
    }
    const entry: Entry = { text, key, volatile };
    if (key !== null) this.byKey.set(key, entry);
    this.queue.push(entry);
    this.bytes += text.length;
    if (this.bytes > this.limits.maxBytes) this.shed();
  }

  private shed(): void {
    const kept: Entry[] = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const e = this.queue[i] as Entry;
      if (e.volatile && this.bytes > this.limits.maxBytes) {
        this.bytes -= e.text.length;
        if (e.key !== null) this.byKey.delete(e.key);
        this.metrics.dropped.inc();
      } else kept.push(e);
    }
    this.queue = kept;
    this.head = 0;
    if (this.bytes > this.limits.maxBytes) {
      this.metrics.evicted.inc();
      this.discard();
      this.ws.close(4008, "slow consumer");
    }
  }
}
