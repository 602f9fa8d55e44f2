/** Retry delay policy. */
export interface BackoffOptions {
  /** `exponential` doubles the delay each attempt; `fixed` keeps it. Default `exponential`. */
  type?: "exponential" | "fixed";
  /** Delay after the first failure, ms. Default 200. */
  delayMs?: number;
  /** Largest delay, ms. Default 60,000. */
  maxDelayMs?: number;
  /** Fraction of the delay randomised (0..1): the delay lies in [d*(1-j), d]. Default 0.2. */
  jitter?: number;
}

/** Delay before retry number `attempt` (1 = after the first failure). */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}, random = Math.random): number {
  const base = opts.delayMs ?? 200;
  const max = opts.maxDelayMs ?? 60_000;
  const jitter = Math.min(Math.max(opts.jitter ?? 0.2, 0), 1);
  const raw = opts.type === "fixed" ? base : base * 2 ** Math.max(0, attempt - 1);
  const d = Math.min(raw, max);
  return Math.round(d * (1 - jitter * random()));
}
