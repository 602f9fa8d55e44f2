/** Returns milliseconds since the epoch; `Date.now` unless a caller pins another time. */
export type Clock = () => number;

let pinned: number | undefined;

/**
 * The clock of the default schemas: `Date.now()`, or the time pinned by {@link atTime} while it runs.
 * Zod refinements here are synchronous, so a pin never leaks into another parse.
 */
export const schemaClock: Clock = () => pinned ?? Date.now();

/** Runs `fn` with {@link schemaClock} reading `now` (epoch ms); `undefined` keeps the wall clock. */
export function atTime<T>(now: number | undefined, fn: () => T): T {
  if (now === undefined) return fn();
  const previous = pinned;
  pinned = now;
  try {
    return fn();
  } finally {
    pinned = previous;
  }
}
