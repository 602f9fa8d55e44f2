import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { testRedisUrl, uniquePrefix } from "@bump/testing";
import type { Hono } from "hono";
import { createApp } from "../app.ts";
import { createTestDeps, type TestDeps } from "../test-deps.ts";
import { adminRoutes } from "./admin.ts";
import { catalogQueues, jobRoutes } from "./jobs.ts";

let t: TestDeps;
let app: Hono;
let alice: string;
let bob: string;
let admin: string;
let publisher: string;
const ns = uniquePrefix("apijobs");

beforeAll(async () => {
  t = await createTestDeps({ redisUrl: await testRedisUrl(), database: false });
  app = createApp(t.deps, { routes: [jobRoutes({ ns }), adminRoutes({ ns })] });
  alice = await t.jwt.sign("alice");
  bob = await t.jwt.sign("bob");
  admin = await t.jwt.sign("root", { roles: ["admin"] });
  publisher = await t.jwt.sign("pub", { roles: ["publisher"] });
}, 60_000);
afterAll(() => t.close());

const call = (method: string, path: string, token: string, body?: unknown) =>
  app.request(path, {
    method,
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

const queues = () => catalogQueues(t.redis, { ns });
async function waitingJobs(): Promise<number> {
  let n = 0;
  for (const q of queues().values()) {
    const c = await q.counts();
    n += c.waiting + c.delayed;
  }
  return n;
}

describe("POST /v1/jobs and GET /v1/jobs/:id", () => {
  test("an unknown queue, an internal queue or invalid data answers 400 and enqueues nothing", async () => {
    for (const body of [
      { queue: "nope", data: {} },
      { queue: "cleanup", data: { period: 1 } },
      { queue: "export", data: { from: "yesterday" } },
      { queue: "export", data: {}, extra: 1 },
    ]) {
      const res = await call("POST", "/v1/jobs", alice, body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_request");
    }
    expect(await waitingJobs()).toBe(0);
  });

  test("the caller owns the job; another user gets 404, an admin reads it", async () => {
    const res = await call("POST", "/v1/jobs", alice, {
      queue: "export",
      data: {},
      priority: "high",
      idempotency_key: "k1",
    });
    expect(res.status).toBe(202);
    const { job_id } = (await res.json()) as { job_id: string };
    const again = await call("POST", "/v1/jobs", alice, { queue: "export", data: {}, idempotency_key: "k1" });
    expect(await again.json()).toEqual({ job_id });
    const own = await call("GET", `/v1/jobs/${job_id}`, alice);
    expect(own.status).toBe(200);
    expect(await own.json()).toMatchObject({
      id: job_id,
      queue: "export",
      state: "waiting",
      priority: "high",
      attempts: 0,
    });
    const other = await call("GET", `/v1/jobs/${job_id}`, bob);
    expect(other.status).toBe(404);
    expect((await call("GET", `/v1/jobs/${job_id}`, admin)).status).toBe(200);
    expect((await call("GET", "/v1/jobs/export.unknown", alice)).status).toBe(404);
    expect((await call("GET", `/v1/jobs/${job_id}?download=1`, alice)).status).toBe(404);
  });

  test("DELETE cancels the caller's job; another user gets 404 and the job stays", async () => {
    const post = async () => {
      const res = await call("POST", "/v1/jobs", alice, { queue: "export", data: {} });
      return ((await res.json()) as { job_id: string }).job_id;
    };
    const id = await post();
    expect((await call("DELETE", `/v1/jobs/${id}`, bob)).status).toBe(404);
    expect(((await (await call("GET", `/v1/jobs/${id}`, alice)).json()) as { state: string }).state).toBe("waiting");
    const res = await call("DELETE", `/v1/jobs/${id}`, alice);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ job_id: id, state: "cancelled" });
    expect(await (await call("GET", `/v1/jobs/${id}`, alice)).json()).toMatchObject({
      state: "failed",
      error: "cancelled",
    });
    expect(await (await call("DELETE", `/v1/jobs/${id}`, alice)).json()).toEqual({ job_id: id, state: "finished" });
    const other = await post();
    expect(await (await call("DELETE", `/v1/jobs/${other}`, admin)).json()).toEqual({
      job_id: other,
      state: "cancelled",
    });
    expect((await call("DELETE", "/v1/jobs/export.unknown", alice)).status).toBe(404);
  });

  test("broadcast needs the publisher role", async () => {
    const body = { queue: "broadcast", data: { frame: { type: "message" }, users: ["bob"] } };
    expect((await call("POST", "/v1/jobs", alice, body)).status).toBe(403);
    expect((await call("POST", "/v1/jobs", publisher, body)).status).toBe(202);
  });
});

describe("admin", () => {
  test("queues, pause and resume, streams and dead letters need the admin role and answer", async () => {
    expect((await call("GET", "/v1/admin/queues", alice)).status).toBe(403);
    const list = (await (await call("GET", "/v1/admin/queues", admin)).json()) as { queues: { name: string }[] };
    expect(list.queues.map((q) => q.name).sort()).toEqual(["broadcast", "cleanup", "export"]);
    expect(list.queues[0]).toMatchObject({ waiting: expect.any(Number), paused: false });
    expect((await call("POST", "/v1/admin/queues/export/pause", admin)).status).toBe(200);
    expect((await queues().get("export")?.counts())?.paused).toBe(true);
    expect((await call("POST", "/v1/admin/queues/export/resume", admin)).status).toBe(200);
    expect((await queues().get("export")?.counts())?.paused).toBe(false);
    expect((await call("POST", "/v1/admin/queues/nope/pause", admin)).status).toBe(404);
    const streams = (await (await call("GET", "/v1/admin/streams", admin)).json()) as { streams: { name: string }[] };
    expect(streams.streams.map((s) => s.name)).toContain("jobs:export:high");
    const dlq = await call("GET", "/v1/admin/dlq/jobs:export?limit=10", admin);
    expect(await dlq.json()).toEqual({ dead_letters: [] });
    expect(await (await call("POST", "/v1/admin/dlq/jobs:export/replay", admin, {})).json()).toEqual({ replayed: 0 });
    expect((await call("GET", "/v1/admin/dlq/nope", admin)).status).toBe(404);
  });
});
