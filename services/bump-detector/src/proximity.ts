import { GridProximityIndex } from "./proximity-grid.ts";
import { H3ProximityIndex } from "./proximity-h3.ts";
import type { ProximityIndex } from "./proximity-index.ts";

/** The proximity index implementations by name. */
export const proximityKinds = ["grid", "h3"] as const;

/** A name of {@link proximityKinds}. */
export type ProximityKind = (typeof proximityKinds)[number];

/** Builds an empty index of `kind` for searches of `radiusM` metres. */
export function createProximityIndex(kind: ProximityKind, radiusM: number): ProximityIndex {
  return kind === "h3" ? new H3ProximityIndex(radiusM) : new GridProximityIndex(radiusM);
}
