/** Stream ids `ms-seq`, compared numerically. */

/** Parses `ms-seq` into its two parts. */
export function parseId(id: string): [bigint, bigint] {
  const dash = id.indexOf("-");
  if (dash < 0) return [BigInt(id), 0n];
  return [BigInt(id.slice(0, dash)), BigInt(id.slice(dash + 1))];
}

/** Negative, zero or positive as `a` sorts before, with or after `b`. */
export function compareIds(a: string, b: string): number {
  const [am, as] = parseId(a);
  const [bm, bs] = parseId(b);
  if (am !== bm) return am < bm ? -1 : 1;
  if (as !== bs) return as < bs ? -1 : 1;
  return 0;
}

/** The smallest id after `id`. */
export function nextId(id: string): string {
  const [ms, seq] = parseId(id);
  return `${ms}-${seq + 1n}`;
}

/** Milliseconds since the epoch at which `id` was added. */
export function idTime(id: string): number {
  return Number(parseId(id)[0]);
}
