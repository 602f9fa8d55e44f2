import { expect, test } from "bun:test";
import { locationEvent } from "@bump/contracts";
import fc from "fast-check";
import { latLngToCell } from "h3-js";
import { encodeFix } from "./location-event.ts";

/** JSON has no -0: the payload carries 0 as JSON.stringify would. */
const plusZero = (x: number) => x + 0;
const NOW = Date.parse("2026-11-24T12:00:00.000Z");

test("the hand-written payload is JSON.stringify of the LocationEvent, with its H3 res-10 cell", () => {
  const input = fc.record(
    {
      latitude: fc.double({ min: -90, max: 90, noNaN: true }).map(plusZero),
      longitude: fc.double({ min: -180, max: 180, noNaN: true }).map(plusZero),
      accuracy: fc.double({ min: 0, max: 10_000, noNaN: true }).map(plusZero),
      altitude: fc.double({ noNaN: true, noDefaultInfinity: true }).map(plusZero),
      recorded_at: fc.date({ min: new Date(0), max: new Date(NOW), noInvalidDate: true }).map((d) => d.toISOString()),
      id: fc.uuid(),
    },
    { requiredKeys: ["latitude", "longitude"] },
  );
  const user = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/);
  fc.assert(
    fc.property(input, user, (i, u) => {
      const fix = encodeFix(JSON.stringify(u), i, NOW);
      if ("path" in fix) throw new Error(fix.message);
      const event = locationEvent.parse(JSON.parse(fix.payload));
      expect(fix.id).toBe(i.id ?? event.id);
      expect(fix.fromClient).toBe(i.id !== undefined);
      const expected = {
        id: fix.id,
        user_id: u,
        latitude: i.latitude,
        longitude: i.longitude,
        ...(i.accuracy === undefined ? {} : { accuracy: i.accuracy }),
        ...(i.altitude === undefined ? {} : { altitude: i.altitude }),
        recorded_at: i.recorded_at === undefined ? NOW : Date.parse(i.recorded_at),
        received_at: NOW,
        cell: latLngToCell(i.latitude, i.longitude, 10),
      };
      expect(fix.payload).toBe(JSON.stringify(expected));
      expect(event).toEqual(expected);
    }),
    { numRuns: 2_000 },
  );
});

test("a recorded_at before 1970 is a field problem, not a payload", () => {
  expect(encodeFix('"u"', { latitude: 0, longitude: 0, recorded_at: "1969-12-31T23:59:59Z" }, NOW)).toEqual({
    path: "recorded_at",
    message: "must not be before 1970",
  });
});
