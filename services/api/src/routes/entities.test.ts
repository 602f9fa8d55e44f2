import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type EntityEvent, errorBody } from "@bump/contracts";
import { testRedisUrl } from "@bump/testing";
import type { Hono } from "hono";
import { createApp } from "../app.ts";
import { createTestDeps, type TestDeps } from "../test-deps.ts";

let t: TestDeps;
let app: Hono;
let publisher: string;
let reader: string;
const NOW = 1_790_000_000_000;

beforeAll(async () => {
  t = await createTestDeps({ redisUrl: await testRedisUrl(), database: false });
  app = createApp({ ...t.deps, clock: () => NOW });
  publisher = await t.jwt.sign("pub", { roles: ["publisher"] });
  reader = await t.jwt.sign("reader");
}, 60_000);
afterAll(() => t.close());

const call = (method: string, path: string, token: string, body?: string) =>
  app.request(path, {
    method,
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { body }),
  });

async function published(): Promise<EntityEvent[]> {
  const rows = (await t.redis.xrange(t.entityKeys.stream, "-", "+")) as [string, string[]][];
  return rows.map(([, f]) => JSON.parse(f[1] as string) as EntityEvent);
}

describe("PUT/DELETE /v1/entities/:id", () => {
  test("a publisher's PUT and DELETE are published with the receipt time", async () => {
    const body = { kind: "vehicle", latitude: 48.85, longitude: 2.35, data: { line: 7 }, audience: ["a", "b"] };
    const put = await call("PUT", "/v1/entities/bus-7", publisher, JSON.stringify(body));
    expect(put.status).toBe(202);
    expect(await put.json()).toEqual({ id: "bus-7" });
    const del = await call("DELETE", "/v1/entities/bus-7", publisher);
    expect(del.status).toBe(202);
    expect(await published()).toEqual([
      { op: "upsert", id: "bus-7", ...body, updated_at: NOW },
      { op: "remove", id: "bus-7", updated_at: NOW },
    ]);
  });

  test("bad bodies and ids answer 400 with details and write nothing", async () => {
    const before = (await published()).length;
    const cases: [string, string, string][] = [
      ["/v1/entities/e1", "{}", "kind"],
      ["/v1/entities/e1", '{"kind":"k","latitude":91,"longitude":0}', "latitude"],
      ["/v1/entities/e1", '{"kind":"k","latitude":0,"longitude":181}', "longitude"],
      ["/v1/entities/e1", '{"kind":"k","latitude":0,"longitude":0,"data":[1]}', "data"],
      ["/v1/entities/e1", '{"kind":"k","latitude":0,"longitude":0,"audience":["bad user"]}', "audience"],
      ["/v1/entities/e1", '{"kind":"k","latitude":0,"longitude":0,"extra":1}', ""],
      ["/v1/entities/e1", '{"kind":"k","latitude":NaN,"longitude":0}', ""],
      ["/v1/entities/bad%20id", '{"kind":"k","latitude":0,"longitude":0}', "id"],
    ];
    for (const [path, body, field] of cases) {
      const res = await call("PUT", path, publisher, body);
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
      const err = errorBody.parse(await res.json()).error;
      expect(err.code).toBe("invalid_request");
      expect(JSON.stringify(err.details)).toContain(field);
    }
    expect((await call("DELETE", "/v1/entities/bad%20id", publisher)).status).toBe(400);
    expect((await published()).length).toBe(before);
  });

  test("a caller without the publisher role gets 403 and writes nothing", async () => {
    const before = (await published()).length;
    const body = JSON.stringify({ kind: "k", latitude: 0, longitude: 0 });
    for (const res of [
      await call("PUT", "/v1/entities/e2", reader, body),
      await call("DELETE", "/v1/entities/e2", reader),
    ]) {
      expect(res.status).toBe(403);
      expect(errorBody.parse(await res.json()).error.code).toBe("forbidden");
    }
    expect((await published()).length).toBe(before);
  });
});
