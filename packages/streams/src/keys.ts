/**
 * Every Redis key of the bus, built in one place. A stream, its per-group retry sets and retry streams and its
 * dead-letter stream share one hash tag, so each script touches a single Redis Cluster slot.
 */

/** The keys that belong to one stream (or one partition of it). */
export interface StreamKeys {
  /** The stream name as given (without namespace), used in metrics and the admin API. */
  readonly name: string;
  /** The shared stream every group reads: `{ns:name}`. */
  readonly stream: string;
  /** Dead letters of every group of this stream: `{ns:name}:dlq`. */
  readonly dlq: string;
  /** Sorted set of a group's scheduled retries, scored by due time (ms). */
  retrySet(group: string): string;
  /** Stream that hands a group's due retries to that group alone. */
  retryStream(group: string): string;
  /** Marker of a client-supplied id already appended (idempotent producers). */
  dedupe(clientId: string): string;
  /** Hash of group -> window (ms) of acked entries that group needs kept; trimming honours the largest. */
  readonly retention: string;
}

/** Builds the keys of stream `name`, optionally partition `partition`, under namespace `ns` (tests use one each). */
export function streamKeys(name: string, opts: { ns?: string; partition?: number } = {}): StreamKeys {
  const tag = `{${opts.ns ? `${opts.ns}:` : ""}${name}${opts.partition === undefined ? "" : `:${opts.partition}`}}`;
  return {
    name,
    stream: tag,
    dlq: `${tag}:dlq`,
    retrySet: (group) => `${tag}:retry:${group}`,
    retryStream: (group) => `${tag}:retry-stream:${group}`,
    dedupe: (clientId) => `${tag}:dedupe:${clientId}`,
    retention: `${tag}:retention`,
  };
}

/**
 * The keys of every partition of stream `name`: `{ns:name}` alone when `partitions` is 1 (the default), else
 * `{ns:name:0}` .. `{ns:name:P-1}`, index = partition, each named `name:<p>` (in metrics, logs and the admin API).
 */
export function partitionedStreamKeys(name: string, opts: { ns?: string; partitions?: number } = {}): StreamKeys[] {
  const partitions = opts.partitions ?? 1;
  if (partitions <= 1) return [streamKeys(name, { ns: opts.ns })];
  return Array.from({ length: partitions }, (_, partition) => ({
    ...streamKeys(name, { ns: opts.ns, partition }),
    name: `${name}:${partition}`,
  }));
}

/** Key of an idempotency marker: `idem:{ns:scope}:id`. */
export function idempotencyKey(scope: string, id: string, ns?: string): string {
  return `idem:{${ns ? `${ns}:` : ""}${scope}}:${id}`;
}

/** The stream names of the product's bus. */
export const streamNames = {
  locations: "locations",
  bumps: "bumps",
  viewports: "viewports",
  entities: "entities",
} as const;
