import { describe, expect, test } from "bun:test";
import { locationEvent } from "@bump/contracts";
import { fixCell } from "@bump/geo";
import { checkLocationEvent, locationEventDecoder } from "./location-decode.ts";

const good = {
  id: "0b9e6a4e-1c2d-4f00-8a00-000000000001",
  user_id: "u:1_a.b-c",
  latitude: 52.52,
  longitude: 13.405,
  accuracy: 12,
  altitude: 34.5,
  recorded_at: 1_750_000_000_000,
  received_at: 1_750_000_000_100,
  cell: fixCell(52.52, 13.405),
};

const variants: [string, unknown][] = [
  ["well-formed", good],
  ["without the optional fields", { ...good, accuracy: undefined, altitude: undefined }],
  ["with an unknown field", { ...good, extra: "x" }],
  ["upper-case uuid", { ...good, id: good.id.toUpperCase() }],
  ["latitude 91", { ...good, latitude: 91 }],
  ["longitude -180.5", { ...good, longitude: -180.5 }],
  ["latitude as a string", { ...good, latitude: "52" }],
  ["NaN accuracy", { ...good, accuracy: Number.NaN }],
  ["negative accuracy", { ...good, accuracy: -1 }],
  ["infinite altitude", { ...good, altitude: Number.POSITIVE_INFINITY }],
  ["fractional time", { ...good, recorded_at: 1.5 }],
  ["negative time", { ...good, received_at: -1 }],
  ["bad user id", { ...good, user_id: "a b" }],
  ["empty user id", { ...good, user_id: "" }],
  ["65-char user id", { ...good, user_id: "u".repeat(65) }],
  ["bad cell", { ...good, cell: "8b1f1d48945ffff" }],
  ["nil uuid", { ...good, id: "00000000-0000-0000-0000-000000000000" }],
  ["not a uuid", { ...good, id: "x" }],
  ["missing user", { ...good, user_id: undefined }],
  ["null", null],
  ["an array", [good]],
];

describe("location event decoding", () => {
  for (const [name, value] of variants) {
    test(`decodes exactly as the schema does: ${name}`, () => {
      const json = JSON.parse(JSON.stringify(value) ?? "null");
      const expected = locationEvent.safeParse(json);
      const got = locationEventDecoder.safeParse(json);
      expect(got.success).toBe(expected.success);
      if (expected.success) expect(got.data).toEqual(expected.data);
      else
        expect(got.error?.issues.map((i) => i.path.join("."))).toEqual(
          expected.error.issues.map((i) => i.path.join(".")),
        );
      // the hand check never accepts what the schema rejects, and strips unknown fields as the schema does
      const fast = checkLocationEvent(json);
      if (fast) expect(fast).toEqual(expected.data as typeof fast);
      if (!expected.success) expect(fast).toBeUndefined();
    });
  }

  test("the hand check takes well-formed events (the fast path is the common one)", () => {
    expect(checkLocationEvent(good)).toEqual(good);
    expect(checkLocationEvent({ ...good, extra: 1 })).toEqual(good);
  });
});
