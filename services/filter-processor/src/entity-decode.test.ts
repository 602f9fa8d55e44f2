import { describe, expect, test } from "bun:test";
import { entityEvent } from "@bump/contracts";
import { checkEntityEvent } from "./entity-decode.ts";

const upsert = {
  op: "upsert",
  id: "e:1_a.b-c",
  kind: "vehicle",
  latitude: 52.52,
  longitude: 13.405,
  data: { level: 3, name: "x", nested: { a: [1, "b", null, true] } },
  audience: ["u1", "u:2"],
  updated_at: 1_750_000_000_000,
};
const remove = { op: "remove", id: "e1", updated_at: 5 };

const variants: [string, unknown][] = [
  ["an upsert", upsert],
  ["an upsert without optional fields", { ...upsert, data: undefined, audience: undefined }],
  ["an upsert with an unknown field", { ...upsert, extra: 1 }],
  ["a bare remove", remove],
  ["a remove with position and kind", { ...remove, kind: "event", latitude: -90, longitude: 180 }],
  ["a remove with an unknown field", { ...remove, extra: "x" }],
  ["an upsert without kind", { ...upsert, kind: undefined }],
  ["an upsert without latitude", { ...upsert, latitude: undefined }],
  ["latitude 91", { ...upsert, latitude: 91 }],
  ["longitude -180.5", { ...upsert, longitude: -180.5 }],
  ["latitude as a string", { ...upsert, latitude: "52" }],
  ["NaN longitude", { ...upsert, longitude: Number.NaN }],
  ["remove with latitude 91", { ...remove, latitude: 91 }],
  ["remove with an empty kind", { ...remove, kind: "" }],
  ["65-char kind", { ...upsert, kind: "k".repeat(65) }],
  ["bad id", { ...upsert, id: "a b" }],
  ["empty id", { ...upsert, id: "" }],
  ["129-char id", { ...upsert, id: "e".repeat(129) }],
  ["unknown op", { ...upsert, op: "move" }],
  ["fractional time", { ...upsert, updated_at: 1.5 }],
  ["negative time", { ...upsert, updated_at: -1 }],
  ["time as a string", { ...upsert, updated_at: "1" }],
  ["data as an array", { ...upsert, data: [1] }],
  ["data null", { ...upsert, data: null }],
  ["data with a __proto__ key", { ...upsert, data: JSON.parse('{"__proto__":{"a":1}}') }],
  ["data with a nested __proto__ key", { ...upsert, data: JSON.parse('{"a":{"__proto__":{"b":1}}}') }],
  ["data just under the limit", { ...upsert, data: { s: "x".repeat(16 * 1024 - 10) } }],
  ["data over the limit", { ...upsert, data: { s: "x".repeat(16 * 1024) } }],
  ["data of 3-byte characters over the limit", { ...upsert, data: { s: "€".repeat(5_500) } }],
  ["bad audience id", { ...upsert, audience: ["a b"] }],
  ["audience not an array", { ...upsert, audience: "u1" }],
  ["audience of 1001", { ...upsert, audience: Array.from({ length: 1001 }, (_, i) => `u${i}`) }],
  ["null", null],
  ["an array", [upsert]],
  ["a number", 1],
];

describe("checkEntityEvent", () => {
  for (const [name, value] of variants) {
    test(`${name}: taken only as the schema takes it`, () => {
      const json = JSON.parse(JSON.stringify(value)) as unknown;
      const expected = entityEvent.safeParse(json);
      const fast = checkEntityEvent(json);
      if (!expected.success) expect(fast).toBeUndefined();
      else if (fast !== undefined) expect(fast).toEqual(expected.data);
    });
  }

  test("the common shapes take the fast path", () => {
    for (const v of [upsert, remove, { ...upsert, data: undefined, audience: undefined }]) {
      expect(checkEntityEvent(JSON.parse(JSON.stringify(v)))).toBeDefined();
    }
  });
});
