/** Options of {@link KeyBatcher}. */
export interface KeyBatcherOptions {
  /**
   * How long the first item of an idle key waits for others before its batch runs, ms; 0 runs it on the next turn
   * of the event loop, with every item submitted until then. Default 0.
   */
  windowMs?: number;
  /** Most items in one batch; the rest wait for the next. Default 500. */
  maxBatch?: number;
}

interface Waiter<I, O> {
  item: I;
  resolve(out: O): void;
  reject(err: unknown): void;
}

interface KeyState<I, O> {
  pending: Waiter<I, O>[];
  timer: ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate> | undefined;
  running: boolean;
}

/**
 * Collects items submitted for the same key and runs them as one batch. Per key, at most one batch runs at a time;
 * an item submitted while none runs waits at most `windowMs` (or one event loop turn) for company, one submitted while a batch runs waits for
 * that batch and goes in the next. Items of a batch are handed over in submission order, and each caller gets the
 * output at its item's index; a batch that throws rejects every caller in it. Different keys never wait on each
 * other.
 */
export class KeyBatcher<I, O> {
  private readonly keys = new Map<string, KeyState<I, O>>();
  private readonly windowMs: number;
  private readonly maxBatch: number;

  constructor(
    /** Runs one batch of `key`; resolves one output per item, in the items' order. */
    private readonly run: (key: string, items: I[]) => Promise<O[]>,
    opts: KeyBatcherOptions = {},
  ) {
    this.windowMs = opts.windowMs ?? 0;
    this.maxBatch = Math.max(1, opts.maxBatch ?? 500);
  }

  /** Queues `item` in the next batch of `key`; resolves with its output once that batch has run. */
  submit(key: string, item: I): Promise<O> {
    let state = this.keys.get(key);
    if (!state) {
      state = { pending: [], timer: undefined, running: false };
      this.keys.set(key, state);
    }
    const s = state;
    const out = new Promise<O>((resolve, reject) => {
      s.pending.push({ item, resolve, reject });
    });
    if (!s.running && !s.timer) {
      const run = () => void this.flush(key, s);
      s.timer = this.windowMs > 0 ? setTimeout(run, this.windowMs) : setImmediate(run);
    }
    return out;
  }

  private async flush(key: string, s: KeyState<I, O>): Promise<void> {
    s.timer = undefined;
    s.running = true;
    while (s.pending.length) {
      const batch = s.pending.splice(0, this.maxBatch);
      try {
        const outs = await this.run(
          key,
          batch.map((w) => w.item),
        );
        batch.forEach((w, i) => {
          if (i < outs.length) w.resolve(outs[i] as O);
          else w.reject(new Error("batch answered fewer outputs than items"));
        });
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    s.running = false;
    this.keys.delete(key);
  }
}
