import { describe, expect, test } from "bun:test";
import {
  type LocationEvent,
  locationEntry,
  locationEntryPayload,
  locationEvent,
  MAX_ENTRY_FIXES,
} from "@bump/contracts";
import { fixCell, seededRandom } from "@bump/geo";
import {
  checkLocationEntry,
  checkLocationEvent,
  decodeLocationBytes,
  decodeLocationEntryBytes,
  locationEntryDecoder,
  locationEventDecoder,
} from "./location-decode.ts";

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

  /** The byte decoder returns exactly the hand check's value on the parsed text, or declines (undefined). */
  function sameAsText(text: string): ReturnType<typeof checkLocationEvent> {
    const fromBytes = decodeLocationBytes(Buffer.from(text));
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      expect(fromBytes).toBeUndefined();
      return undefined;
    }
    const fromText = checkLocationEvent(parsed);
    if (fromBytes === undefined) return undefined;
    expect(fromText).toBeDefined();
    const a = fromBytes as Record<string, unknown>;
    const b = fromText as unknown as Record<string, unknown>;
    expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
    for (const k of Object.keys(b)) expect(Object.is(a[k], b[k])).toBe(true);
    return fromBytes;
  }

  test("from the bytes: every variant as the hand check on the parsed text", () => {
    for (const [, value] of variants) sameAsText(JSON.stringify(value) ?? "null");
    expect(decodeLocationBytes(Buffer.from(JSON.stringify(good)))).toEqual(good);
  });

  test("from the bytes: random numbers parse to the same doubles as JSON.parse, and compact events are taken", () => {
    const rnd = seededRandom(7);
    const numbers: number[] = [-0, 0, 1e-7, 5e-324, 1e21, 9007199254740991, 0.1, 52.52, -13.000000000000002];
    for (let i = 0; i < 20_000; i++) {
      const scale = 10 ** Math.floor(rnd() * 12 - 6);
      const x = (rnd() - 0.5) * 180 * scale;
      numbers.push(x, Math.round(x * 1e6) / 1e6, Math.fround(x));
    }
    let taken = 0;
    for (const x of numbers) {
      const lat = Math.max(-90, Math.min(90, x));
      const accuracy = Math.abs(x) <= 10_000 ? Math.abs(x) : 3;
      const text = JSON.stringify({ ...good, latitude: lat, longitude: -lat / 2, accuracy, altitude: x });
      if (sameAsText(text)) taken++;
    }
    expect(taken).toBe(numbers.length);
  });

  test("from the bytes: anything but a compact flat object of known keys and plain strings is declined", () => {
    const text = JSON.stringify(good);
    const declined = [
      text.replace(",", ", "),
      ` ${text}`,
      text.replace('"u:1_a.b-c"', '"u:1_\\u0061"'),
      text.replace('"u:1_a.b-c"', '"ü"'),
      text.replace("}", ',"cell":"8a1f1d48945ffff"}'),
      text.replace("}", ',"extra":1}'),
      text.replace("}", ",}"),
      text.replace("12,", "012,"),
      text.replace("12,", "12.,"),
      text.replace("12,", ".5,"),
      text.replace("12,", "-,"),
      text.replace("12,", "1e,"),
      text.replace("12,", "true,"),
      text.replace("12,", "null,"),
      text.replace("}", "}}"),
      "{}",
      "[]",
      "",
    ];
    for (const t of declined) {
      expect(decodeLocationBytes(Buffer.from(t))).toBeUndefined();
      sameAsText(t);
    }
    // exponents and negative numbers within the grammar are taken
    expect(decodeLocationBytes(Buffer.from(text.replace("34.5", "-3.45E+1")))?.altitude).toBe(-34.5);
    expect(decodeLocationBytes(Buffer.from(text.replace("34.5", "-0")))?.altitude).toBe(-0);
  });
});

describe("location entry decoding (one fix, or an array of them)", () => {
  const other = { ...good, id: "0b9e6a4e-1c2d-4f00-8a00-000000000002", user_id: "v", accuracy: undefined };
  const texts = (list: unknown[]) => locationEntryPayload(list.map((v) => JSON.stringify(v) ?? "null"));
  const entries: [string, string][] = [
    ["one fix", texts([good])],
    ["two fixes", texts([good, other])],
    ["the largest entry", texts(Array.from({ length: MAX_ENTRY_FIXES }, (_, i) => ({ ...good, recorded_at: i })))],
    ["one fix in an array", `[${JSON.stringify(good)}]`],
    ["one bad fix among good ones", texts([good, { ...other, latitude: 91 }, good])],
    ["a fix with an unknown field", texts([good, { ...other, extra: 1 }])],
    ["too many fixes", texts(Array.from({ length: MAX_ENTRY_FIXES + 1 }, () => good))],
    ["an empty array", "[]"],
    ["a nested array", `[${texts([good, other])}]`],
    ["a space between fixes", texts([good, other]).replace("},{", "}, {")],
    ["an object after an array", `${texts([good, other])}`.replace("[", '{"a":[').replace(/]$/, "]}")],
    ["a trailing comma", `${texts([good, other]).slice(0, -1)},]`],
    ["an unclosed array", texts([good, other]).slice(0, -1)],
    ["text after the array", `${texts([good, other])}x`],
    ["a number in the array", `[${JSON.stringify(good)},1]`],
  ];
  for (const [name, text] of entries) {
    test(`as the schema decides, whole: ${name}`, () => {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        // not JSON: the consumer dead-letters it, and the byte decoder declines it
        expect(decodeLocationEntryBytes(Buffer.from(text))).toBeUndefined();
        return;
      }
      const expected = locationEntry.safeParse(json);
      const got = locationEntryDecoder.safeParse(json);
      expect(got.success).toBe(expected.success);
      if (expected.success) expect(got.data).toEqual(expected.data);
      const fast = checkLocationEntry(json);
      if (fast) expect(fast).toEqual(expected.data as typeof fast);
      if (!expected.success) expect(fast).toBeUndefined();
      // the byte decoder takes only what the hand check takes on the parsed text, and returns the same fixes
      const bytes = decodeLocationEntryBytes(Buffer.from(text));
      if (bytes !== undefined) expect(bytes).toEqual(fast as typeof bytes);
    });
  }

  test("from the bytes: entries the api writes are taken, each fix as the single decoder reads it", () => {
    const list = Array.from({ length: 50 }, (_, i) => ({ ...good, latitude: i / 7, recorded_at: i }));
    const got = decodeLocationEntryBytes(Buffer.from(texts(list)));
    expect(got).toEqual(list.map((f) => decodeLocationBytes(Buffer.from(JSON.stringify(f)))) as typeof got);
    expect(decodeLocationEntryBytes(Buffer.from(JSON.stringify(good)))).toEqual([good]);
    expect(decodeLocationEntryBytes(Buffer.from(texts([good, other]).replace("},{", "}, {")))).toEqual([good, other]);
    // bytes that are not UTF-8 text, in a string the check ignores, read as the UTF-8 text path reads them
    const odd = Buffer.concat([
      Buffer.from(`[${JSON.stringify(good)},${JSON.stringify(other).slice(0, -1)},"x":"`),
      Buffer.from([0xc3, 0xff]),
      Buffer.from('"}]'),
    ]);
    expect(decodeLocationEntryBytes(odd)).toEqual(checkLocationEntry(JSON.parse(odd.toString())) as LocationEvent[]);
    expect(decodeLocationEntryBytes(Buffer.from(`[${JSON.stringify({ ...good, user_id: "ü" })}]`))).toBeUndefined();
  });
});
