/**
 * Pure geometry and bump semantics shared by the ingest edge, the bump-detector, the simulator and the tests:
 * haversine distance, the H3 cell of a fix, the partition router, and the brute-force reference oracle.
 */
export { bumpOracle, type OracleBump } from "./bump-oracle.ts";
export { type BumpRules, bumpIdOf, defaultBumpRules, type FixInput, fixTime, pairKey } from "./bump-rules.ts";
export { cellRing, FIX_CELL_RES, fixCell, parentCell } from "./cell.ts";
export { EARTH_RADIUS_M, haversineM } from "./haversine.ts";
export { PARTITION_RES, partitionOfCell, partitionsFor, partitionsForPoint } from "./partition.ts";
export { offsetPoint, randomTrace, seededRandom, type TraceFix, type TraceOptions, traceFixId } from "./trace.ts";
