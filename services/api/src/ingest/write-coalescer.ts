/** Options of {@link WriteCoalescer}. */
export interface WriteCoalescerOptions {
  /** An append is sent as soon as this many entries wait. Default 2000. */
  maxEntries?: number;
  /** Most appends awaiting Redis at once; later writes gather meanwhile and go in the next one. Default 4. */
  maxInFlight?: number;
  /**
   * An append of fewer entries waits until no other append awaits Redis, then goes at once: under a load of small
   * writes each append is as full as the last round trip allows (fewer, fuller XADDs, so less CPU per request in
   * the api and in Redis), while large appends (batch POSTs) still overlap up to `maxInFlight`. An idle write
   * waits only for the end of its turn. Default 200 (a full entry).
   */
  overlapAt?: number;
}

/**
 * Merges the appends of concurrent requests into one append call (group commit; the api uses one
 * `Producer.appendMany` script call): writes handed over in the same
 * event-loop turn, or while `maxInFlight` appends are awaiting Redis, go out together, so one round trip (and,
 * with AOF `appendfsync always`, one fsync) serves many requests. An idle write waits for nothing but the end of
 * the current turn.
 *
 * Guarantees: a call's payloads are appended contiguously and in order; its promise resolves only after Redis
 * acknowledged the whole append holding them, and rejects (with its error) when any entry of that append was
 * not acknowledged, so a rejected call must not be answered 202.
 */
export class WriteCoalescer {
  private pending: string[] = [];
  /** The promise every write of the gathering append shares (one per append, not one per write). */
  private batch: PromiseWithResolvers<void> | undefined;
  private scheduled = false;
  private inFlight = 0;
  private readonly maxEntries: number;
  private readonly maxInFlight: number;
  private readonly overlapAt: number;

  /** `append` writes payloads in one call, in order, and rejects unless Redis acknowledged every one. */
  constructor(
    private readonly append: (payloads: readonly string[]) => Promise<unknown>,
    opts: WriteCoalescerOptions = {},
  ) {
    this.maxEntries = opts.maxEntries ?? 2_000;
    this.maxInFlight = opts.maxInFlight ?? 4;
    this.overlapAt = opts.overlapAt ?? 200;
  }

  /** Appends `payloads` with whatever else is waiting; resolves once they are acknowledged. */
  write(payloads: readonly string[]): Promise<void> {
    for (const p of payloads) this.pending.push(p);
    return this.gathered();
  }

  /** {@link write} of one payload. */
  writeOne(payload: string): Promise<void> {
    this.pending.push(payload);
    return this.gathered();
  }

  /** The promise of the append that will hold what was just added to `pending`; sends or schedules it. */
  private gathered(): Promise<void> {
    let batch = this.batch;
    if (batch === undefined) {
      batch = Promise.withResolvers<void>();
      this.batch = batch;
    }
    if (this.pending.length >= this.maxEntries && this.inFlight < this.maxInFlight) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.onTurnEnd);
    }
    return batch.promise;
  }

  private readonly onTurnEnd = () => {
    this.scheduled = false;
    if (this.mayFlush()) this.flush();
  };

  /** Whether what is pending may go now: nothing in flight, or a large append below the in-flight cap. */
  private mayFlush(): boolean {
    return this.inFlight === 0 || (this.inFlight < this.maxInFlight && this.pending.length >= this.overlapAt);
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const payloads = this.pending;
    const batch = this.batch as PromiseWithResolvers<void>;
    this.pending = [];
    this.batch = undefined;
    this.inFlight++;
    const settle = (err?: unknown) => {
      this.inFlight--;
      err === undefined ? batch.resolve() : batch.reject(err);
      if (this.pending.length > 0 && !this.scheduled && this.mayFlush()) this.flush();
    };
    let sent: Promise<unknown>;
    try {
      sent = this.append(payloads);
    } catch (err) {
      sent = Promise.reject(err);
    }
    sent.then(
      () => settle(),
      (err: unknown) => settle(err ?? new Error("append failed")),
    );
  }
}
