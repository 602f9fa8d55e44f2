import type { Viewport } from "@bump/contracts";

/**
 * An in-memory spatial index of at most one viewport per user, answering "whose viewport contains this point".
 * Answers are exact (edges included, west > east crossing the antimeridian, as `viewportContains`): no
 * candidate filtering is left to the caller. Implementations: `viewport-index-grid.ts` (a uniform degree grid)
 * and `viewport-index-rbush.ts` (an R-tree); both pass `viewport-index.case.test.ts` against a brute-force oracle.
 */
export interface ViewportIndex {
  /** Number of users indexed. */
  readonly size: number;
  /** Indexes `box` as the user's only viewport, replacing the previous one. `box` must be valid. */
  set(user: string, box: Viewport): void;
  /** Removes the user's viewport; true when there was one. */
  delete(user: string): boolean;
  /**
   * Appends to `out` every user whose viewport contains the point, each once, in no particular order; returns
   * `out`. The index must not be modified while a query runs.
   */
  query(lat: number, lng: number, out: string[]): string[];
  /**
   * Optional: answers {@link query} for two points at once (an entity's old and new position) in one pass when the
   * index can, appending to `outA` and `outB`; returns false, having appended nothing, when it cannot.
   */
  queryPair?(aLat: number, aLng: number, bLat: number, bLng: number, outA: string[], outB: string[]): boolean;
}
