/** Every Redis key of the bump-detector, built in one place. */
import { type StreamKeys, streamKeys, streamNames } from "@bump/streams";

/** The keys one bump-detector uses. */
export interface DetectorKeys {
  /** The locations stream (or the partition of it) this detector consumes. */
  readonly locations: StreamKeys;
  /** The bumps stream every partition appends to. */
  readonly bumps: StreamKeys;
  /** Cooldown marker of a pair (users in any order); carries the bumps stream's hash tag. */
  cooldown(userA: string, userB: string): string;
}

/**
 * Builds the detector's keys under namespace `ns` (empty in production). With more than one partition the
 * detector reads `{locations:<partition>}`; the bumps stream and the cooldown keys are shared by all partitions,
 * so a pair seen by two partitions still bumps once.
 */
export function detectorKeys(opts: { ns?: string; partitions?: number; partition?: number } = {}): DetectorKeys {
  const ns = opts.ns || undefined;
  const partitioned = (opts.partitions ?? 1) > 1;
  const bumps = streamKeys(streamNames.bumps, { ns });
  return {
    locations: streamKeys(streamNames.locations, { ns, partition: partitioned ? (opts.partition ?? 0) : undefined }),
    bumps,
    // "|" cannot occur in a user id, so the pair key is unambiguous.
    cooldown: (a, b) => `${bumps.stream}:cooldown:${a < b ? `${a}|${b}` : `${b}|${a}`}`,
  };
}
