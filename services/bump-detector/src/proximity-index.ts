/** The fix of one user as the proximity index holds it. */
export interface IndexedFix {
  readonly user: string;
  /** The fix's message id. */
  readonly id: string;
  readonly lat: number;
  readonly lng: number;
  /** The fix's time (ms), see `fixTime` in @bump/geo. */
  readonly at: number;
  /** Its H3 resolution-10 cell. */
  readonly cell: string;
}

/** What {@link ProximityIndex.collectWithin} looks for: fixes of other users near a point in a time range. */
export interface NearQuery {
  lat: number;
  lng: number;
  /** The point's H3 resolution-10 cell. */
  cell: string;
  /** The asking user, whose own fix is left out. */
  user: string;
  /** Haversine distance, metres: at most the index's radius. */
  radiusM: number;
  /** Times (`at`) in [from, to] only. */
  from: number;
  to: number;
}

/**
 * An in-memory spatial index of at most one fix per user, built for a fixed search radius. Implementations:
 * `proximity-h3.ts` (H3 res 10 with its 1-ring) and `proximity-grid.ts` (a metric grid). Both pass the shared
 * behaviour suite `proximity-index.case.test.ts` and the brute-force oracle test.
 */
export interface ProximityIndex {
  /** Number of users indexed. */
  readonly size: number;
  /** Indexes `fix` as its user's only fix, replacing the user's previous one. Copies it: the caller may reuse it. */
  put(fix: IndexedFix): void;
  /** The user's indexed fix, if any. */
  get(user: string): IndexedFix | undefined;
  /** Removes the user's fix; true when there was one. */
  delete(user: string): boolean;
  /**
   * Calls `visit` with every indexed fix within the index's radius (haversine) of the point, and possibly with
   * some farther ones: the caller checks the exact distance. Never misses one within the radius, anywhere on the
   * globe (poles and antimeridian included). `visit` must not modify the index.
   */
  forEachNear(lat: number, lng: number, cell: string, visit: (fix: IndexedFix) => void): void;
  /** Appends to `out` the fixes {@link forEachNear} would visit (the hot path: no callback per candidate). */
  collectNear(lat: number, lng: number, cell: string, out: IndexedFix[]): void;
  /**
   * Appends to `out` exactly the indexed fixes of users other than `q.user` with a time in [`q.from`, `q.to`] whose
   * haversine distance to the point is at most `q.radiusM`, and those distances to `distances` (the detector's hot
   * path: the candidates are filtered where they are stored). Returns the number of indexed fixes read.
   */
  collectWithin(q: NearQuery, out: IndexedFix[], distances: number[]): number;
  /** Removes every fix whose `at` is before `floor`; returns how many. */
  evictBefore(floor: number): number;
}
