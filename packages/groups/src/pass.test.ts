import { describe, expect, test } from "bun:test";
import { decodePlan, encodePlan, splitUnits } from "./pass.ts";

const msg = (seq: number) => ({ seq, sender: "a", text: `m${seq}`, at: new Date(0).toISOString() });

describe("pass plans", () => {
  test("a plan round-trips through its recorded text; the one-unit text is the cursor's old `lo:hi`", () => {
    const units = [
      { lo: 4, hi: 6 },
      { lo: 7, hi: 7 },
      { lo: 8, hi: 12 },
    ];
    expect(encodePlan(units)).toBe("4:6,7:7,8:12");
    expect(decodePlan("4:6,7:7,8:12")).toEqual(units);
    expect(decodePlan("1:2")).toEqual([{ lo: 1, hi: 2 }]);
    for (const bad of [null, undefined, "", "x", "3:1", "1:2,", "1:2,a:b"]) expect(decodePlan(bad)).toEqual([]);
  });

  test("messages are split by the recorded bounds, whatever else was read", () => {
    const units = splitUnits([2, 3, 4, 5, 6, 9].map(msg), [
      { lo: 2, hi: 4 },
      { lo: 5, hi: 5 },
      { lo: 6, hi: 8 },
      { lo: 9, hi: 9 },
      { lo: 10, hi: 10 },
    ]);
    expect(units.map((u) => [u.lo, u.hi, u.messages.map((m) => m.seq)])).toEqual([
      [2, 4, [2, 3, 4]],
      [5, 5, [5]],
      [6, 8, [6]],
      [9, 9, [9]],
      [10, 10, []],
    ]);
  });
});
