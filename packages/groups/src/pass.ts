import type { GroupMessage } from "@bump/contracts";
import type { FanoutUnit } from "./bursts.ts";

/** The seq bounds of one unit of a pass. */
export interface UnitBounds {
  readonly lo: number;
  readonly hi: number;
}

/** A pass's units as recorded in the group's cursor: `lo:hi` per unit, joined by `,` (`"4:6,7:7"`). */
export function encodePlan(units: readonly UnitBounds[]): string {
  return units.map((u) => `${u.lo}:${u.hi}`).join(",");
}

/** The units of a recorded plan, in seq order; empty for an empty or malformed text. */
export function decodePlan(text: string | null | undefined): UnitBounds[] {
  if (!text) return [];
  const units: UnitBounds[] = [];
  for (const part of text.split(",")) {
    const [lo, hi] = part.split(":").map(Number);
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || (lo as number) > (hi as number)) return [];
    units.push({ lo: lo as number, hi: hi as number });
  }
  return units;
}

/** Splits `messages` (seq order) into the given units: each unit gets the messages within its bounds. */
export function splitUnits(messages: readonly GroupMessage[], bounds: readonly UnitBounds[]): FanoutUnit[] {
  let i = 0;
  return bounds.map((b) => {
    while (i < messages.length && (messages[i] as GroupMessage).seq < b.lo) i++;
    const start = i;
    while (i < messages.length && (messages[i] as GroupMessage).seq <= b.hi) i++;
    return { lo: b.lo, hi: b.hi, messages: messages.slice(start, i) };
  });
}
