/**
 * Every Redis key and stream of the filter-processor, built in one place under the bus namespace. Viewport keys
 * share the hash tag `{<ns>:viewports}`, so a restore reads the GEO set and the hashes from one Cluster slot.
 */
import { type StreamKeys, streamKeys, streamNames } from "@bump/streams";

/** The keys of one namespace. */
export interface FilterKeys {
  /** The `viewports` stream the gateways publish to. */
  readonly viewports: StreamKeys;
  /** The `entities` stream the API publishes to. */
  readonly entities: StreamKeys;
  /** The stream of volatile frames of the stream sink (used until frames go through delivery). */
  readonly frames: StreamKeys;
  /** GEO set of viewport centres, member = user id: `{ns:viewports}:geo`. */
  readonly geo: string;
  /** Hash of one user's viewport and filter, with a TTL: `{ns:viewports}:viewport:<user>`. */
  viewport(user: string): string;
}

/** Builds the keys under namespace `ns` (empty in production; tests use one each). */
export function filterKeys(ns = ""): FilterKeys {
  const tag = `{${ns ? `${ns}:` : ""}viewports}`;
  const opts = ns ? { ns } : {};
  return {
    viewports: streamKeys(streamNames.viewports, opts),
    entities: streamKeys(streamNames.entities, opts),
    frames: streamKeys("entity-frames", opts),
    geo: `${tag}:geo`,
    viewport: (user) => `${tag}:viewport:${user}`,
  };
}
