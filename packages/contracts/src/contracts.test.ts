import { describe, expect, test } from "bun:test";
import {
  bumpEvent,
  bumpRecord,
  bumpsQuery,
  type ClientFrame,
  closeCode,
  entityEvent,
  entityFilter,
  entityPut,
  errorCode,
  errorStatus,
  formatOffset,
  jobEnqueue,
  jobRecord,
  jwtClaims,
  locationBatch,
  locationEntry,
  locationEntryPayload,
  locationEvent,
  locationInput,
  MAX_ENTITY_DATA_BYTES,
  MAX_ENTRY_FIXES,
  matchesFilter,
  parseClientFrame,
  parseLocationBatch,
  parseLocationInput,
  parseOffset,
  serverFrame,
  userId,
  viewport,
  viewportContains,
  viewportEvent,
  zodIssuesToDetails,
} from "./index.ts";

const NOW = Date.parse("2025-06-01T12:00:00.000Z");
const UUID = "6ba7b810-9dad-41d1-80b4-00c04fd430c8";
const CELL = "8a1f1d48945ffff";
const fix = { latitude: 52.52, longitude: 13.405 };

describe("location input", () => {
  test("accepts a minimal and a full update", () => {
    expect(parseLocationInput(fix, NOW).success).toBe(true);
    const full = { ...fix, accuracy: 12.5, altitude: -3, recorded_at: "2025-06-01T11:59:00.000Z", id: UUID };
    const r = parseLocationInput(full, NOW);
    expect(r.success).toBe(true);
    expect(r.data).toEqual(full);
  });

  test("accepts the bounds and a recorded_at with an offset", () => {
    for (const body of [
      { latitude: 90, longitude: 180 },
      { latitude: -90, longitude: -180, accuracy: 0 },
      { ...fix, accuracy: 10_000, recorded_at: "2025-06-01T14:04:00+02:00" },
    ]) {
      expect(parseLocationInput(body, NOW).success).toBe(true);
    }
  });

  test.each([
    ["NaN latitude", { latitude: Number.NaN, longitude: 0 }],
    ["Infinity longitude", { latitude: 0, longitude: Number.POSITIVE_INFINITY }],
    ["latitude 91", { latitude: 91, longitude: 0 }],
    ["latitude -90.0001", { latitude: -90.0001, longitude: 0 }],
    ["longitude 180.5", { latitude: 0, longitude: 180.5 }],
    ["string latitude", { latitude: "52.5", longitude: 13 }],
    ["missing longitude", { latitude: 1 }],
    ["negative accuracy", { ...fix, accuracy: -1 }],
    ["accuracy over 10 km", { ...fix, accuracy: 10_001 }],
    ["string altitude", { ...fix, altitude: "3" }],
    ["user_id in body", { ...fix, user_id: "mallory" }],
    ["unknown field", { ...fix, speed: 3 }],
    ["id not a UUID", { ...fix, id: "abc" }],
    ["recorded_at not ISO", { ...fix, recorded_at: "yesterday" }],
    ["recorded_at without zone", { ...fix, recorded_at: "2025-06-01T12:00:00" }],
    ["recorded_at 10 min ahead", { ...fix, recorded_at: "2025-06-01T12:10:00.000Z" }],
    ["recorded_at as epoch", { ...fix, recorded_at: NOW }],
    ["an array", [fix]],
    ["null", null],
  ])("rejects %s", (_, body) => {
    expect(parseLocationInput(body, NOW).success).toBe(false);
  });

  test("the future bound is 5 minutes of the injected clock", () => {
    const at = (ms: number) => ({ ...fix, recorded_at: new Date(NOW + ms).toISOString() });
    expect(parseLocationInput(at(5 * 60_000), NOW).success).toBe(true);
    expect(parseLocationInput(at(5 * 60_000 + 1), NOW).success).toBe(false);
    // The pinned clock does not leak: the default schema uses the wall clock again.
    expect(locationInput.safeParse({ ...fix, recorded_at: new Date(Date.now() + 60_000).toISOString() }).success).toBe(
      true,
    );
    expect(locationInput.safeParse(at(0)).success).toBe(true);
  });

  test("reports a user_id in the body at its own path", () => {
    const r = parseLocationInput({ ...fix, user_id: "mallory", latitude: 91 }, NOW);
    expect(r.success).toBe(false);
    const details = zodIssuesToDetails(r.error!);
    expect(details).toContainEqual({ path: "user_id", message: "unknown field" });
    expect(details.map((d) => d.path)).toContain("latitude");
  });
});

describe("location batch", () => {
  const batch = (n: number) => ({ updates: Array.from({ length: n }, () => fix) });

  test("accepts 1 and 500 updates", () => {
    expect(parseLocationBatch(batch(1), NOW).success).toBe(true);
    expect(locationBatch.safeParse(batch(500)).success).toBe(true);
  });

  test("rejects 0 and 501 updates, a bad item, and unknown fields", () => {
    expect(parseLocationBatch(batch(0), NOW).success).toBe(false);
    expect(parseLocationBatch(batch(501), NOW).success).toBe(false);
    expect(parseLocationBatch({ updates: [fix, { latitude: 91, longitude: 0 }] }, NOW).success).toBe(false);
    expect(parseLocationBatch({ ...batch(1), user_id: "x" }, NOW).success).toBe(false);
    expect(parseLocationBatch({ updates: [{ ...fix, user_id: "x" }] }, NOW).success).toBe(false);
  });

  test("a bad item is reported with its index", () => {
    const r = parseLocationBatch({ updates: [fix, fix, { latitude: "x", longitude: 0 }] }, NOW);
    expect(zodIssuesToDetails(r.error!)[0]?.path).toBe("updates.2.latitude");
  });

  test("the future check applies to every item with the injected clock", () => {
    const ahead = { ...fix, recorded_at: "2025-06-01T12:10:00Z" };
    expect(parseLocationBatch({ updates: [fix, ahead] }, NOW).success).toBe(false);
    expect(parseLocationBatch({ updates: [fix, ahead] }, NOW + 6 * 60_000).success).toBe(true);
  });
});

describe("location event", () => {
  const event = { id: UUID, user_id: "alice", ...fix, recorded_at: NOW, received_at: NOW + 5, cell: CELL };

  test("accepts a fix and strips unknown fields", () => {
    const r = locationEvent.safeParse({ ...event, accuracy: 5, extra: 1 });
    expect(r.success).toBe(true);
    expect(r.data).toEqual({ ...event, accuracy: 5 });
  });

  test.each([
    ["a non-res-10 cell", { cell: "891f1d48947ffff" }],
    ["an upper-case cell", { cell: CELL.toUpperCase() }],
    ["an ISO recorded_at", { recorded_at: "2025-06-01T12:00:00Z" }],
    ["a fractional received_at", { received_at: 1.5 }],
    ["a bad user id", { user_id: "a b" }],
    ["a missing id", { id: undefined }],
  ])("rejects %s", (_, patch) => {
    expect(locationEvent.safeParse({ ...event, ...patch }).success).toBe(false);
  });
});

describe("location stream entry", () => {
  const event = { id: UUID, user_id: "alice", ...fix, recorded_at: NOW, received_at: NOW + 5, cell: CELL };
  const other = { ...event, id: "6ba7b810-9dad-41d1-80b4-00c04fd430c9", user_id: "bob" };
  const parse = (payloads: unknown[]) =>
    locationEntry.parse(JSON.parse(locationEntryPayload(payloads.map((p) => JSON.stringify(p)))));

  test("one fix is the event itself; several are an array, each fix whole and in order", () => {
    expect(locationEntryPayload([JSON.stringify(event)])).toBe(JSON.stringify(event));
    expect(parse([event])).toEqual([event]);
    expect(parse([event, other, event])).toEqual([event, other, event]);
  });

  test("rejects an empty or oversized array and an array holding one bad fix", () => {
    expect(locationEntry.safeParse([]).success).toBe(false);
    expect(locationEntry.safeParse(Array.from({ length: MAX_ENTRY_FIXES + 1 }, () => event)).success).toBe(false);
    expect(locationEntry.safeParse(Array.from({ length: MAX_ENTRY_FIXES }, () => event)).success).toBe(true);
    expect(locationEntry.safeParse([event, { ...other, latitude: 91 }]).success).toBe(false);
    expect(locationEntry.safeParse([[event]]).success).toBe(false);
  });
});

describe("user", () => {
  test("user ids are 1-64 chars of [A-Za-z0-9_.:-]", () => {
    for (const ok of ["a", "alice", "u:42", "A.b_c-d", "x".repeat(64)]) expect(userId.safeParse(ok).success).toBe(true);
    for (const bad of ["", "x".repeat(65), "a b", "ü", "a/b", 42]) expect(userId.safeParse(bad).success).toBe(false);
  });

  test("jwt claims need sub and an integer exp; roles are admin or publisher", () => {
    expect(jwtClaims.safeParse({ sub: "alice", exp: 1_900_000_000 }).success).toBe(true);
    expect(jwtClaims.safeParse({ sub: "alice", exp: 1_900_000_000, roles: ["admin"], iat: 1 }).data).toEqual({
      sub: "alice",
      exp: 1_900_000_000,
      roles: ["admin"],
    });
    expect(jwtClaims.safeParse({ sub: "alice" }).success).toBe(false);
    expect(jwtClaims.safeParse({ sub: "alice", exp: 1.5 }).success).toBe(false);
    expect(jwtClaims.safeParse({ sub: "a b", exp: 1 }).success).toBe(false);
    expect(jwtClaims.safeParse({ sub: "alice", exp: 1, roles: ["root"] }).success).toBe(false);
  });
});

describe("bumps", () => {
  const event = {
    id: "b1",
    user_a: "alice",
    user_b: "bob",
    distance_m: 12.3,
    ...fix,
    at: NOW,
    cell: CELL,
  };
  const record = {
    id: "b1",
    user_id: "alice",
    other_user_id: "bob",
    distance_m: 12.3,
    ...fix,
    at: "2025-06-01T12:00:00.000Z",
  };

  test("bump event", () => {
    expect(bumpEvent.safeParse(event).success).toBe(true);
    expect(bumpEvent.safeParse({ ...event, user_b: "alice" }).success).toBe(false);
    expect(bumpEvent.safeParse({ ...event, distance_m: -1 }).success).toBe(false);
    expect(bumpEvent.safeParse({ ...event, at: "2025-06-01T12:00:00Z" }).success).toBe(false);
  });

  test("public bump record", () => {
    expect(bumpRecord.safeParse(record).success).toBe(true);
    expect(bumpRecord.safeParse({ ...record, at: NOW }).success).toBe(false);
    expect(bumpRecord.safeParse({ ...record, cell: CELL }).success).toBe(false);
  });

  test("query: limit coerced from a string, 1..200, default 50", () => {
    expect(bumpsQuery.parse({})).toEqual({ limit: 50 });
    expect(bumpsQuery.parse({ limit: "200", before: "2025-06-01T12:00:00Z" })).toEqual({
      limit: 200,
      before: "2025-06-01T12:00:00Z",
    });
    for (const limit of ["0", "201", "abc", "1.5", ""]) expect(bumpsQuery.safeParse({ limit }).success).toBe(false);
    expect(bumpsQuery.safeParse({ before: "last week" }).success).toBe(false);
  });
});

describe("viewport", () => {
  test("accepts boxes, including one across the antimeridian", () => {
    expect(viewport.safeParse({ north: 10, south: -10, east: 20, west: -20 }).success).toBe(true);
    expect(viewport.safeParse({ north: 10, south: 10, east: -170, west: 170 }).success).toBe(true);
  });

  test.each([
    ["north < south", { north: -1, south: 1, east: 1, west: 0 }],
    ["north 91", { north: 91, south: 0, east: 1, west: 0 }],
    ["east 181", { north: 1, south: 0, east: 181, west: 0 }],
    ["NaN", { north: Number.NaN, south: 0, east: 1, west: 0 }],
    ["a string", { north: "1", south: 0, east: 1, west: 0 }],
    ["an unknown field", { north: 1, south: 0, east: 1, west: 0, zoom: 3 }],
  ])("rejects %s", (_, body) => {
    expect(viewport.safeParse(body).success).toBe(false);
  });

  test("containment honours the antimeridian", () => {
    const across = { north: 10, south: -10, east: -170, west: 170 };
    expect(viewportContains(across, 0, 175)).toBe(true);
    expect(viewportContains(across, 0, -175)).toBe(true);
    expect(viewportContains(across, 0, 180)).toBe(true);
    expect(viewportContains(across, 0, 0)).toBe(false);
    expect(viewportContains(across, 11, 175)).toBe(false);
    const plain = { north: 10, south: -10, east: 20, west: -20 };
    expect(viewportContains(plain, 10, 20)).toBe(true);
    expect(viewportContains(plain, 0, 21)).toBe(false);
  });

  test("viewport event: a box or null, with an optional filter", () => {
    const base = { user_id: "alice", session_id: "s1", at: NOW };
    expect(viewportEvent.safeParse({ ...base, viewport: null }).success).toBe(true);
    expect(
      viewportEvent.safeParse({
        ...base,
        viewport: { north: 1, south: 0, east: 1, west: 0 },
        filter: { kinds: ["car"] },
      }).success,
    ).toBe(true);
    expect(viewportEvent.safeParse({ ...base }).success).toBe(false);
    expect(viewportEvent.safeParse({ ...base, viewport: { north: 0, south: 1, east: 1, west: 0 } }).success).toBe(
      false,
    );
  });
});

describe("entities", () => {
  const put = { kind: "car", ...fix, data: { speed: 3, tags: ["a"] }, audience: ["alice", "bob"] };

  test("PUT body", () => {
    expect(entityPut.safeParse(put).success).toBe(true);
    expect(entityPut.safeParse({ kind: "car", ...fix }).success).toBe(true);
    expect(entityPut.safeParse({ ...put, kind: "" }).success).toBe(false);
    expect(entityPut.safeParse({ ...put, kind: "k".repeat(65) }).success).toBe(false);
    expect(entityPut.safeParse({ ...put, data: [1] }).success).toBe(false);
    expect(entityPut.safeParse({ ...put, data: null }).success).toBe(false);
    expect(entityPut.safeParse({ ...put, latitude: 91 }).success).toBe(false);
    expect(entityPut.safeParse({ ...put, id: "e1" }).success).toBe(false);
    expect(entityPut.safeParse({ ...put, audience: ["a b"] }).success).toBe(false);
    expect(entityPut.safeParse({ ...put, audience: Array.from({ length: 1001 }, (_, i) => `u${i}`) }).success).toBe(
      false,
    );
  });

  test("data is capped at 16 KiB of JSON", () => {
    const sized = (n: number) => ({ ...put, data: { s: "x".repeat(n - 8) } }); // {"s":""} is 8 bytes
    expect(entityPut.safeParse(sized(MAX_ENTITY_DATA_BYTES)).success).toBe(true);
    expect(entityPut.safeParse(sized(MAX_ENTITY_DATA_BYTES + 1)).success).toBe(false);
  });

  test("entity event is discriminated on op", () => {
    const upsert = { op: "upsert", id: "car:1", kind: "car", ...fix, updated_at: NOW };
    expect(entityEvent.safeParse(upsert).success).toBe(true);
    expect(entityEvent.safeParse({ op: "remove", id: "car:1", updated_at: NOW }).success).toBe(true);
    expect(entityEvent.safeParse({ ...upsert, kind: undefined }).success).toBe(false);
    expect(entityEvent.safeParse({ ...upsert, op: "patch" }).success).toBe(false);
    expect(entityEvent.safeParse({ ...upsert, id: "a/b" }).success).toBe(false);
    expect(entityEvent.safeParse({ ...upsert, id: "x".repeat(129) }).success).toBe(false);
  });

  test("filter conditions", () => {
    expect(entityFilter.safeParse({}).success).toBe(true);
    const filter = {
      kinds: ["car"],
      where: [
        { field: "color", eq: "red" },
        { field: "seats", in: [2, 4] },
        { field: "speed", gte: 1, lte: 10 },
      ],
    };
    expect(entityFilter.safeParse(filter).success).toBe(true);
    for (const where of [
      [{ field: "speed" }],
      [{ field: "", eq: 1 }],
      [{ field: "a", in: [] }],
      [{ field: "a", eq: { x: 1 } }],
      [{ field: "a", gte: 1, lte: "z" }],
      [{ field: "a", eq: 1, in: [1] }],
    ]) {
      expect(entityFilter.safeParse({ where }).success).toBe(false);
    }
    expect(entityFilter.safeParse({ kinds: "car" }).success).toBe(false);
  });

  test("matchesFilter", () => {
    const f = entityFilter.parse({
      kinds: ["car"],
      where: [
        { field: "color", eq: "red" },
        { field: "speed", gte: 1, lte: 10 },
      ],
    });
    expect(matchesFilter(f, "car", { color: "red", speed: 5 })).toBe(true);
    expect(matchesFilter(f, "bus", { color: "red", speed: 5 })).toBe(false);
    expect(matchesFilter(f, "car", { color: "blue", speed: 5 })).toBe(false);
    expect(matchesFilter(f, "car", { color: "red", speed: 11 })).toBe(false);
    expect(matchesFilter(f, "car", { color: "red", speed: "5" })).toBe(false);
    expect(matchesFilter(f, "car", { color: "red" })).toBe(false);
    expect(matchesFilter({}, "anything")).toBe(true);
    expect(matchesFilter({ kinds: [] }, "car")).toBe(false);
    expect(matchesFilter({ where: [{ field: "n", in: [1, true] }] }, "x", { n: true })).toBe(true);
  });
});

describe("jobs", () => {
  test("enqueue body", () => {
    expect(jobEnqueue.parse({ queue: "email", data: { to: "a" } })).toEqual({
      queue: "email",
      data: { to: "a" },
      priority: "normal",
    });
    expect(jobEnqueue.safeParse({ queue: "q_1-x", data: null, priority: "high", delay_ms: 0 }).success).toBe(true);
    expect(jobEnqueue.safeParse({ queue: "q", data: 1, delay_ms: 30 * 86_400_000, idempotency_key: "k" }).success).toBe(
      true,
    );
    for (const bad of [
      { queue: "Email", data: 1 },
      { queue: "", data: 1 },
      { queue: "q" },
      { queue: "q", data: 1, priority: "urgent" },
      { queue: "q", data: 1, delay_ms: -1 },
      { queue: "q", data: 1, delay_ms: 30 * 86_400_000 + 1 },
      { queue: "q", data: 1, delay_ms: 1.5 },
      { queue: "q", data: 1, idempotency_key: "" },
      { queue: "q", data: 1, user_id: "x" },
    ]) {
      expect(jobEnqueue.safeParse(bad).success).toBe(false);
    }
  });

  test("job record", () => {
    const rec = {
      id: "j1",
      queue: "email",
      state: "completed",
      priority: "normal",
      attempts: 1,
      max_attempts: 3,
      result: { ok: true },
      created_at: "2025-06-01T12:00:00.000Z",
      finished_at: "2025-06-01T12:00:01.000Z",
    };
    expect(jobRecord.safeParse(rec).success).toBe(true);
    expect(jobRecord.safeParse({ ...rec, state: "retrying" }).success).toBe(false);
    expect(jobRecord.safeParse({ ...rec, progress: 101 }).success).toBe(false);
  });
});

describe("errors", () => {
  test("every code has its status", () => {
    expect(errorCode.options.map((c) => [c, errorStatus[c]])).toEqual([
      ["invalid_request", 400],
      ["unauthorized", 401],
      ["forbidden", 403],
      ["not_found", 404],
      ["payload_too_large", 413],
      ["rate_limited", 429],
      ["overloaded", 503],
      ["internal", 500],
    ]);
    expect(closeCode).toMatchObject({ unauthorized: 4001, slowConsumer: 4008, restart: 1012, tooBig: 1009 });
  });

  test("zodIssuesToDetails flattens nested paths", () => {
    const r = jobEnqueue.safeParse({ queue: "q", data: 1, priority: 3, x: 1 });
    expect(zodIssuesToDetails(r.error!)).toEqual([
      { path: "priority", message: expect.any(String) },
      { path: "x", message: "unknown field" },
    ]);
  });
});

describe("offsets", () => {
  test("round-trip and reject malformed ones", () => {
    expect(parseOffset(formatOffset("1717243200000", 42))).toEqual({ epoch: "1717243200000", seq: 42 });
    expect(parseOffset("e1:0")).toEqual({ epoch: "e1", seq: 0 });
    for (const bad of ["", "1", "1:", ":1", "1:01", "1:-1", "1:2:3", "a b:1", "1:1234567890123456"]) {
      expect(parseOffset(bad)).toBeNull();
    }
  });
});

describe("parseClientFrame", () => {
  const parse = (v: unknown) => parseClientFrame(JSON.stringify(v), NOW);

  test("accepts every client frame", () => {
    for (const frame of [
      { type: "auth", token: "a.b.c" },
      { type: "location", ...fix, id: UUID, accuracy: 3 },
      { type: "viewport", north: 10, south: -10, east: -170, west: 170 },
      { type: "filter" },
      { type: "filter", kinds: ["car"], where: [{ field: "a", in: ["x", 1, false] }] },
      { type: "resume", since: "1717243200000:17" },
      { type: "ping" },
      { type: "ping", id: "p1" },
    ] as const) {
      expect(parse(frame)).toEqual({ ok: true, frame: frame as ClientFrame });
    }
  });

  test("not JSON: bad_json", () => {
    expect(parseClientFrame("{nope", NOW)).toMatchObject({ ok: false, code: "bad_json" });
    expect(parseClientFrame("", NOW)).toMatchObject({ ok: false, code: "bad_json" });
  });

  test("not an object or no known type: unknown_type", () => {
    for (const v of [
      1,
      "ping",
      null,
      [],
      [{ type: "ping" }],
      {},
      { type: 3 },
      { type: "pong" },
      { type: "toString" },
    ]) {
      expect(parse(v)).toMatchObject({ ok: false, code: "unknown_type" });
    }
    expect(parse({ type: "subscribe", id: "r1" })).toEqual({
      ok: false,
      code: "unknown_type",
      message: 'unknown frame type: "subscribe"',
      ref: "r1",
    });
  });

  test("field errors: invalid_frame with the first issue and the frame's id as ref", () => {
    expect(parse({ type: "ping", id: "p1", extra: true })).toEqual({
      ok: false,
      code: "invalid_frame",
      message: "extra: unknown field",
      ref: "p1",
    });
    const r = parse({ type: "location", latitude: 91, longitude: 0, id: UUID });
    expect(r).toMatchObject({ ok: false, code: "invalid_frame", ref: UUID });
    expect(!r.ok && r.message.startsWith("latitude: ")).toBe(true);
    for (const v of [
      { type: "location", latitude: "1", longitude: 0 },
      { type: "location", ...fix, user_id: "mallory" },
      { type: "location", ...fix, recorded_at: "2025-06-01T12:10:00Z" },
      { type: "location", ...fix, id: "not-a-uuid" },
      { type: "viewport", north: -1, south: 1, east: 0, west: 0 },
      { type: "filter", where: [{ field: "a" }] },
      { type: "resume", since: "yesterday" },
      { type: "resume" },
      { type: "auth", token: "" },
      { type: "ping", id: 7 },
    ]) {
      expect(parse(v)).toMatchObject({ ok: false, code: "invalid_frame" });
    }
    expect(parse({ type: "ping", id: 7 })).not.toHaveProperty("ref");
  });

  test("the recorded_at check follows the pinned time", () => {
    const frame = JSON.stringify({ type: "location", ...fix, recorded_at: "2025-06-01T12:10:00Z" });
    expect(parseClientFrame(frame, NOW).ok).toBe(false);
    expect(parseClientFrame(frame, NOW + 10 * 60_000).ok).toBe(true);
  });
});

describe("server frames", () => {
  const entity = { id: "car:1", kind: "car", ...fix, data: {}, updated_at: "2025-06-01T12:00:00.000Z" };

  test("accepts every server frame", () => {
    for (const frame of [
      { type: "welcome", session_id: "s1", user_id: "alice", heartbeat_ms: 25_000, resumed: false },
      {
        type: "bump",
        offset: "1:1",
        bump: { id: "b1", user_id: "alice", other_user_id: "bob", distance_m: 3, ...fix, at: entity.updated_at },
      },
      { type: "job", offset: "1:2", job: { id: "j1", queue: "email", state: "progress", progress: 50 } },
      {
        type: "message",
        offset: "1:3",
        group_id: "g1",
        messages: [{ seq: 1, sender: "bob", text: "hi", at: entity.updated_at }],
      },
      { type: "entity", op: "upsert", entity },
      { type: "entity", op: "remove", entity: { id: "car:1", updated_at: entity.updated_at } },
      { type: "entities", op: "snapshot", entities: [entity] },
      { type: "resync", reason: "history_gone" },
      { type: "error", code: "invalid_frame", message: "latitude: too big", ref: "x" },
      { type: "ack", id: UUID },
      { type: "pong" },
      { type: "pong", id: "p1" },
    ]) {
      expect(serverFrame.safeParse(frame)).toMatchObject({ success: true, data: frame });
    }
  });

  test("rejects malformed server frames", () => {
    for (const frame of [
      { type: "bump", offset: "nope", bump: {} },
      { type: "job", offset: "1:2", job: { id: "j1", queue: "email", state: "waiting" } },
      { type: "entity", op: "upsert", entity: { id: "car:1", updated_at: entity.updated_at } },
      { type: "entity", op: "snapshot", entity },
      { type: "entities", op: "snapshot", entities: [{ ...entity, updated_at: 1 }] },
      { type: "message", offset: "1:3", group_id: "g1", messages: [] },
      { type: "welcome", session_id: "s1", user_id: "alice", heartbeat_ms: 0, resumed: false },
      { type: "error", code: "oops", message: "x" },
      { type: "pong", id: "p1", extra: 1 },
      { type: "hello" },
    ]) {
      expect(serverFrame.safeParse(frame).success).toBe(false);
    }
  });
});
