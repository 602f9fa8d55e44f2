import { cellToParent, gridDisk, latLngToCell } from "h3-js";

/** The H3 resolution of every fix's `cell` (about 66 m cells; a 1-ring covers any 30 m disk). */
export const FIX_CELL_RES = 10;

/** The H3 resolution-10 cell of a point, as stored with every fix on the `locations` stream. */
export function fixCell(latitude: number, longitude: number): string {
  return latLngToCell(latitude, longitude, FIX_CELL_RES);
}

/** The parent of a resolution-10 `cell` at a coarser resolution `res`. */
export function parentCell(cell: string, res: number): string {
  return cellToParent(cell, res);
}

/** `cell` and its neighbours (the 1-ring); pentagons have 5 neighbours instead of 6. */
export function cellRing(cell: string): string[] {
  return gridDisk(cell, 1);
}
