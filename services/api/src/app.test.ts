import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { bumpsPage, errorBody } from "@bump/contracts";
import { createDb, insertBumps } from "@bump/db";
import { testRedisUrl } from "@bump/testing";
import { latLngToCell } from "h3-js";
import type { Hono } from "hono";
import { createApp } from "./app.ts";
import { createTestDeps, type TestDeps } from "./test-deps.ts";

let t: TestDeps;
let app: Hono;
let alice: string;

beforeAll(async () => {
  t = await createTestDeps({ redisUrl: await testRedisUrl() });
  app = createApp(t.deps);
  alice = await t.jwt.sign("alice");
}, 60_000);
afterAll(() => t.close());

const post = (path: string, body: string, token: string | null = alice, extra: Record<string, string> = {}) =>
  app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra },
    body,
  });

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = errorBody.parse(await res.json());
  expect(body.error.code).toBe(code as never);
  return body.error;
}

describe("auth", () => {
  test("missing, malformed, badly signed and expired tokens answer 401 and write nothing", async () => {
    const expired = await t.jwt.sign("alice", { ttlSeconds: -10 });
    const forged = `${alice.slice(0, alice.lastIndexOf("."))}.AAAA`;
    const body = JSON.stringify({ latitude: 1, longitude: 2 });
    await expectError(await post("/v1/locations", body, null), 401, "unauthorized");
    await expectError(await post("/v1/locations", body, "not-a-jwt"), 401, "unauthorized");
    await expectError(await post("/v1/locations", body, forged), 401, "unauthorized");
    await expectError(await post("/v1/locations", body, expired), 401, "unauthorized");
    await expectError(
      await post("/v1/locations", body, null, { authorization: `Basic ${alice}` }),
      401,
      "unauthorized",
    );
    const get = await app.request("/v1/bumps");
    await expectError(get, 401, "unauthorized");
    expect(await t.entries()).toHaveLength(0);
  });
});

describe("POST /v1/locations validation", () => {
  const cases: [string, string, string][] = [
    ["missing fields", "{}", "latitude"],
    ["missing longitude", '{"latitude": 1}', "longitude"],
    ["latitude 91", '{"latitude": 91, "longitude": 0}', "latitude"],
    ["longitude -181", '{"latitude": 0, "longitude": -181}', "longitude"],
    ["strings for numbers", '{"latitude": "52.5", "longitude": "13.4"}', "latitude"],
    ["user_id in the body", '{"latitude": 1, "longitude": 2, "user_id": "mallory"}', "user_id"],
    ["accuracy out of range", '{"latitude": 1, "longitude": 2, "accuracy": -1}', "accuracy"],
    [
      "recorded_at an hour ahead",
      `{"latitude":1,"longitude":2,"recorded_at":"${new Date(Date.now() + 3_600_000).toISOString()}"}`,
      "recorded_at",
    ],
    ["recorded_at before 1970", '{"latitude":1,"longitude":2,"recorded_at":"1969-12-31T23:59:59Z"}', "recorded_at"],
    ["id not a uuid", '{"latitude": 1, "longitude": 2, "id": "abc"}', "id"],
    ["an array", "[1, 2]", ""],
  ];
  for (const [name, body, path] of cases) {
    test(`${name} answers 400 with the field in details`, async () => {
      const error = await expectError(await post("/v1/locations", body), 400, "invalid_request");
      expect((error.details as { path: string }[]).map((d) => d.path)).toContain(path);
    });
  }

  test("NaN and other malformed JSON answer 400", async () => {
    for (const body of ['{"latitude": NaN, "longitude": 1}', '{"latitude": 1,', "", "null x"]) {
      await expectError(await post("/v1/locations", body), 400, "invalid_request");
    }
  });

  test("a 10 MB body answers 413", async () => {
    const big = JSON.stringify({ latitude: 1, longitude: 2, pad: "x".repeat(10 * 1024 * 1024) });
    await expectError(await post("/v1/locations", big), 413, "payload_too_large");
    await expectError(await post("/v1/locations/batch", big), 413, "payload_too_large");
    const length = { "content-length": String(big.length) };
    await expectError(await post("/v1/locations", big, alice, length), 413, "payload_too_large");
    await expectError(await post("/v1/locations", big, null, length), 413, "payload_too_large");
  });

  test("a body of exactly 1 MiB is read; one byte more answers 413", async () => {
    const fill = (n: number) => {
      const head = '{"latitude":1,"longitude":2,"pad":"';
      return `${head}${"x".repeat(n - head.length - 2)}"}`;
    };
    const limit = fill(1024 * 1024);
    const over = fill(1024 * 1024 + 1);
    for (const extra of [{}, { "content-length": String(limit.length) }] as Record<string, string>[]) {
      // read, then rejected by the strict schema: the limit let it through
      await expectError(await post("/v1/locations", limit, alice, extra), 400, "invalid_request");
    }
    for (const extra of [{}, { "content-length": String(over.length) }] as Record<string, string>[]) {
      await expectError(await post("/v1/locations", over, alice, extra), 413, "payload_too_large");
    }
  });

  test("none of the rejected requests wrote to the stream", async () => {
    expect(await t.entries()).toHaveLength(0);
  });
});

describe("accepted locations", () => {
  test("a fix is on the stream with the caller's id, an H3 res-10 cell and a default recorded_at", async () => {
    const res = await post("/v1/locations", JSON.stringify({ latitude: 52.52, longitude: 13.405, accuracy: 5 }));
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const entry = (await t.entries()).find((e) => e.id === id);
    expect(entry).toMatchObject({ user_id: "alice", latitude: 52.52, longitude: 13.405, accuracy: 5 });
    expect(entry?.cell).toBe(latLngToCell(52.52, 13.405, 10));
    expect(entry?.recorded_at).toBe(entry?.received_at as number);
  });

  test("a retried POST with a client id appends once and answers the same id", async () => {
    const id = crypto.randomUUID();
    const before = (await t.entries()).length;
    const body = JSON.stringify({ latitude: 10, longitude: 20, id, recorded_at: "2026-01-01T00:00:00Z" });
    const answers = await Promise.all([post("/v1/locations", body), post("/v1/locations", body)]);
    for (const r of answers) {
      expect(r.status).toBe(202);
      expect(await r.json()).toEqual({ id });
    }
    const entries = await t.entries();
    expect(entries.length - before).toBe(1);
    expect(entries.filter((e) => e.id === id)).toHaveLength(1);
    expect(entries.find((e) => e.id === id)?.recorded_at).toBe(Date.parse("2026-01-01T00:00:00Z"));
  });

  test("the same client id from another user is that user's own fix", async () => {
    const id = crypto.randomUUID();
    const bob = await t.jwt.sign("bob");
    expect((await post("/v1/locations", JSON.stringify({ latitude: 1, longitude: 1, id }))).status).toBe(202);
    expect((await post("/v1/locations", JSON.stringify({ latitude: 1, longitude: 1, id }), bob)).status).toBe(202);
    const users = (await t.entries()).filter((e) => e.id === id).map((e) => e.user_id);
    expect(users.sort()).toEqual(["alice", "bob"]);
  });

  test("every raw path Hono routes to the ingest answers alike and counts in the route's series", async () => {
    const count = async (status: number) => {
      const text = await (await app.request("/metrics")).text();
      const line = new RegExp(
        `^http_requests_total\\{method="POST",route="/v1/locations",status="${status}"\\} (\\d+)$`,
        "m",
      );
      return Number(line.exec(text)?.[1] ?? 0);
    };
    const [accepted, rejected] = [await count(202), await count(400)];
    const body = JSON.stringify({ latitude: 3, longitude: 4 });
    const ids: string[] = [];
    for (const path of [
      "/v1/locations",
      "/v1/locations?x=1",
      "/v1/%6Cocations",
      "http://api.example:8080/v1/locations",
    ]) {
      const res = await post(path, body);
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    await expectError(await post("/v1/locations?x=1", "{}"), 400, "invalid_request");
    await expectError(await post("/v1/locations?x=1", body, null), 401, "unauthorized");
    await expectError(await post("/v1/locations/", body), 404, "not_found");
    const get = await app.request("/v1/locations", { headers: { authorization: `Bearer ${alice}` } });
    await expectError(get, 404, "not_found");
    const onStream = new Set((await t.entries()).map((e) => e.id));
    expect(ids.every((id) => onStream.has(id))).toBe(true);
    expect(await count(202)).toBe(accepted + 4);
    expect(await count(400)).toBe(rejected + 1);
  });

  test("a batch is appended whole, in one answer with every id", async () => {
    const before = (await t.entries()).length;
    const given = crypto.randomUUID();
    const updates = [
      { latitude: 1, longitude: 1 },
      { latitude: 2, longitude: 2, id: given },
      { latitude: -89.9, longitude: 179.9 },
    ];
    const res = await post("/v1/locations/batch", JSON.stringify({ updates }));
    expect(res.status).toBe(202);
    const body = (await res.json()) as { accepted: number; ids: string[] };
    expect(body.accepted).toBe(3);
    expect(body.ids[1]).toBe(given);
    const entries = await t.entries();
    expect(entries.length - before).toBe(3);
    const onStream = new Set(entries.map((e) => e.id));
    expect(body.ids.every((id) => onStream.has(id))).toBe(true);
  });

  test("a batch with one bad update, none, or over 500 writes nothing", async () => {
    const before = (await t.entries()).length;
    const bad = {
      updates: [
        { latitude: 1, longitude: 1 },
        { latitude: 100, longitude: 1 },
      ],
    };
    const error = await expectError(await post("/v1/locations/batch", JSON.stringify(bad)), 400, "invalid_request");
    expect(error.details).toEqual([{ path: "updates.1.latitude", message: expect.any(String) }]);
    await expectError(await post("/v1/locations/batch", '{"updates": []}'), 400, "invalid_request");
    const many = { updates: Array.from({ length: 501 }, () => ({ latitude: 1, longitude: 1 })) };
    await expectError(await post("/v1/locations/batch", JSON.stringify(many)), 400, "invalid_request");
    await expectError(await post("/v1/locations/batch", '{"updates": [], "user_id": "x"}'), 400, "invalid_request");
    expect((await t.entries()).length).toBe(before);
  });

  test("while the stream lags past its limit writes answer 503 overloaded with Retry-After", async () => {
    const lagging = await createTestDeps({ redisUrl: await testRedisUrl(), maxBacklog: 2, database: false });
    try {
      const lagApp = createApp(lagging.deps);
      await lagging.redis.xgroup("CREATE", lagging.keys.stream, "slow", "0", "MKSTREAM");
      for (let i = 0; i < 3; i++) await lagging.redis.xadd(lagging.keys.stream, "*", "d", "{}");
      await lagging.overload.refresh();
      const res = await lagApp.request("/v1/locations", {
        method: "POST",
        headers: { authorization: `Bearer ${alice}` },
        body: JSON.stringify({ latitude: 1, longitude: 1 }),
      });
      await expectError(res, 503, "overloaded");
      expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(await lagging.redis.xlen(lagging.keys.stream)).toBe(3);
    } finally {
      await lagging.close();
    }
  });
});

describe("GET /v1/bumps", () => {
  test("returns only the caller's bumps, newest first, paged without losing ties", async () => {
    const { db, close } = createDb(t.databaseUrl);
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    const row = (id: string, a: string, b: string, s: number) => ({
      id,
      userA: a,
      userB: b,
      distanceM: 3,
      latitude: 1,
      longitude: 2,
      cell: "8a1f1d48945ffff",
      at: at(s),
    });
    await insertBumps(db, [
      row("b1", "alice", "bob", 1),
      row("b2", "carol", "alice", 2),
      row("b3", "bob", "carol", 3),
      row("b4", "alice", "dave", 4),
      row("b5", "alice", "erin", 4),
      row("b6", "frank", "alice", 5),
    ]);
    await close();
    const get = async (q: string) => {
      const res = await app.request(`/v1/bumps${q}`, { headers: { authorization: `Bearer ${alice}` } });
      expect(res.status).toBe(200);
      return bumpsPage.parse(await res.json());
    };
    const all = await get("");
    expect(all.bumps.map((b) => b.id)).toEqual(["b6", "b5", "b4", "b2", "b1"]);
    expect(all.bumps.every((b) => b.user_id === "alice")).toBe(true);
    expect(all.bumps.find((b) => b.id === "b2")?.other_user_id).toBe("carol");
    expect(all.next_before).toBeNull();
    const seen: string[] = [];
    let before = "";
    for (let i = 0; i < 10; i++) {
      const page = await get(`?limit=2${before ? `&before=${encodeURIComponent(before)}` : ""}`);
      seen.push(...page.bumps.map((b) => b.id));
      if (!page.next_before) break;
      before = page.next_before;
    }
    expect(seen).toEqual(["b6", "b5", "b4", "b2", "b1"]);
    const bob = await t.jwt.sign("bob");
    const res = await app.request("/v1/bumps", { headers: { authorization: `Bearer ${bob}` } });
    expect(((await res.json()) as { bumps: { id: string }[] }).bumps.map((b) => b.id)).toEqual(["b3", "b1"]);
  });

  test("a bad limit or before answers 400", async () => {
    for (const q of ["?limit=0", "?limit=201", "?limit=x", "?before=yesterday"]) {
      const res = await app.request(`/v1/bumps${q}`, { headers: { authorization: `Bearer ${alice}` } });
      await expectError(res, 400, "invalid_request");
    }
  });
});

describe("service endpoints", () => {
  test("/openapi.json is an OpenAPI 3.1 document listing the routes", async () => {
    const res = await app.request("/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths["/v1/locations"] ?? {})).toEqual(["post"]);
    expect(Object.keys(doc.paths["/v1/locations/batch"] ?? {})).toEqual(["post"]);
    expect(Object.keys(doc.paths["/v1/bumps"] ?? {})).toEqual(["get"]);
    const body = JSON.stringify(doc.paths["/v1/locations"]);
    expect(body).toContain('"latitude"');
    expect(body).toContain('"additionalProperties":false');
  });

  test("unknown paths answer 404 not_found; /metrics counts requests by route and status", async () => {
    await expectError(await app.request("/nope"), 404, "not_found");
    const text = await (await app.request("/metrics")).text();
    expect(text).toContain('http_requests_total{method="POST",route="/v1/locations",status="202"}');
    expect(text).toContain('http_requests_total{method="POST",route="/v1/locations",status="400"}');
    expect(text).toContain("http_request_duration_seconds_bucket");
  });

  test("/metrics counts requests on different raw paths of one route pattern in one series", async () => {
    const unmatched = async () => {
      const text = await (await app.request("/metrics")).text();
      return Number(/^http_requests_total\{method="GET",route="unmatched",status="404"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    };
    const before = await unmatched();
    for (const path of ["/nope/a", "/nope/b", "/nope/a"]) await expectError(await app.request(path), 404, "not_found");
    expect(await unmatched()).toBe(before + 3);
  });
});
