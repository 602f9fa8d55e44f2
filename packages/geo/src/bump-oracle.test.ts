import { describe, expect, test } from "bun:test";
import { bumpOracle } from "./bump-oracle.ts";
import { defaultBumpRules, type FixInput } from "./bump-rules.ts";
import { offsetPoint } from "./trace.ts";

const T = 1_750_000_000_000;
const HOME = { latitude: 52.52, longitude: 13.405 };

function fix(n: number, user: string, dxM: number, t: number, extra: Partial<FixInput> = {}): FixInput {
  const [latitude, longitude] = offsetPoint(HOME.latitude, HOME.longitude, dxM, 0);
  return { id: `f${n}`, user_id: user, latitude, longitude, recorded_at: t, received_at: t, ...extra };
}

const pairs = (fixes: FixInput[]) => bumpOracle(fixes, defaultBumpRules).map((b) => `${b.user_a}-${b.user_b}:${b.id}`);

describe("bump oracle", () => {
  test("two users 20 m apart within the window bump once, on the second fix", () => {
    expect(pairs([fix(1, "b", 0, T), fix(2, "a", 20, T + 10_000)])).toEqual(["a-b:f1.f2"]);
  });

  test("a pair 31 m apart, 31 s apart, or with an inaccurate fix does not bump", () => {
    expect(pairs([fix(1, "a", 0, T), fix(2, "b", 31, T)])).toEqual([]);
    expect(pairs([fix(1, "a", 0, T), fix(2, "b", 5, T + 30_001)])).toEqual([]);
    expect(pairs([fix(1, "a", 0, T, { accuracy: 101 }), fix(2, "b", 5, T)])).toEqual([]);
    expect(pairs([fix(1, "a", 0, T), fix(2, "b", 5, T, { accuracy: 100.5 })])).toEqual([]);
    expect(pairs([fix(1, "a", 0, T), fix(2, "a", 5, T)])).toEqual([]);
  });

  test("the user's latest fix counts: a move away, or an inaccurate fix, stops earlier fixes bumping", () => {
    expect(pairs([fix(1, "a", 0, T), fix(2, "a", 500, T + 1), fix(3, "b", 5, T + 2)])).toEqual([]);
    expect(pairs([fix(1, "a", 0, T), fix(2, "a", 0, T + 1, { accuracy: 300 }), fix(3, "b", 5, T + 2)])).toEqual([]);
  });

  test("a fix older than its user's latest is ignored", () => {
    const late = fix(3, "a", 0, T + 2, { recorded_at: T - 5 });
    expect(pairs([fix(1, "b", 0, T), fix(2, "a", 500, T + 1), late])).toEqual([]);
  });

  test("a fix older than the window at arrival never bumps, and the pair cools down", () => {
    expect(pairs([fix(1, "a", 0, T), fix(2, "b", 0, T + 40_000, { recorded_at: T })])).toEqual([]);
    const again = [fix(1, "a", 0, T), fix(2, "b", 0, T), fix(3, "a", 1, T + 10), fix(4, "b", 2, T + 3_600_001)];
    expect(pairs([...again, fix(5, "a", 1, T + 3_600_002)])).toEqual(["a-b:f1.f2", "a-b:f4.f5"]);
  });

  test("a future-dated fix counts at its receipt time", () => {
    expect(pairs([fix(1, "a", 0, T), fix(2, "b", 0, T + 20_000, { recorded_at: T + 300_000 })])).toEqual(["a-b:f1.f2"]);
  });
});
