import { cellToParent, gridDisk } from "h3-js";
import { fixCell } from "./cell.ts";

/** Coarse H3 resolution whose cells are the regions a partition owns (res 3: about 12,000 km² each). */
export const PARTITION_RES = 3;

/** FNV-1a over a string: a stable, process-independent hash. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The partition (0..partitions-1) that owns a resolution-10 `cell`: its res-3 parent hashed mod `partitions`. */
export function partitionOfCell(cell: string, partitions: number): number {
  if (partitions <= 1) return 0;
  return fnv1a(cellToParent(cell, PARTITION_RES)) % partitions;
}

/**
 * Every partition a fix must be published to: the owner of its cell, plus the owner of any neighbouring region
 * its detection disk reaches. The disk of a bump radius up to 30 m lies inside the res-10 1-ring of its cell, so
 * the partitions of that ring's res-3 parents cover every region a partner within the radius can be in: each pair
 * of fixes within the radius then shares at least one partition. Sorted ascending, the owner always included.
 */
export function partitionsFor(cell: string, partitions: number): number[] {
  if (partitions <= 1) return [0];
  const owner = partitionOfCell(cell, partitions);
  const parent = cellToParent(cell, PARTITION_RES);
  let out: number[] | undefined;
  for (const n of gridDisk(cell, 1)) {
    const p = cellToParent(n, PARTITION_RES);
    if (p === parent) continue;
    const part = fnv1a(p) % partitions;
    if (part === owner) continue;
    out ??= [owner];
    if (!out.includes(part)) out.push(part);
  }
  return out ? out.sort((a, b) => a - b) : [owner];
}

/** {@link partitionsFor} from a point rather than its cell. */
export function partitionsForPoint(latitude: number, longitude: number, partitions: number): number[] {
  return partitionsFor(fixCell(latitude, longitude), partitions);
}
