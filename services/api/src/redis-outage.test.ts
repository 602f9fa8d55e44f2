import { afterAll, beforeAll, expect, test } from "bun:test";
import { createJwt } from "@bump/auth";
import { errorBody } from "@bump/contracts";
import {
  createTestDatabase,
  freePort,
  type RedisServer,
  type ServiceProcess,
  spawnService,
  startRedisServer,
  type TestDatabase,
  waitFor,
  waitForHttp,
} from "@bump/testing";
import { testSecret } from "./test-deps.ts";

let redis: RedisServer;
let db: TestDatabase;
let api: ServiceProcess;
let base: string;
let token: string;

beforeAll(async () => {
  redis = await startRedisServer();
  db = await createTestDatabase();
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  api = spawnService("services/api/src/main.ts", {
    PORT: String(port),
    REDIS_URL: redis.url,
    DATABASE_URL: db.url,
    AUTH_SECRET: testSecret,
    LOG_LEVEL: "warn",
  });
  await waitForHttp(`${base}/ready`, 60_000);
  token = await createJwt(testSecret).sign("alice");
}, 90_000);

afterAll(async () => {
  await api?.stop();
  await redis?.stop();
  await db?.close();
}, 30_000);

const send = () =>
  fetch(`${base}/v1/locations`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ latitude: 48.85, longitude: 2.35 }),
  });

test("Redis unreachable: POST answers 503 overloaded with Retry-After, the service stays up, and recovers", async () => {
  expect((await send()).status).toBe(202);
  await redis.kill9();
  // Every request returns (none hangs) with 503 while Redis is down.
  const answers = await Promise.all(Array.from({ length: 20 }, () => send()));
  for (const res of answers) {
    expect(res.status).toBe(503);
    expect(errorBody.parse(await res.json()).error.code).toBe("overloaded");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
  }
  expect((await fetch(`${base}/health`)).status).toBe(200);
  expect((await fetch(`${base}/ready`)).status).toBe(503);
  await redis.restart();
  await waitFor(async () => (await send()).status === 202, { timeoutMs: 20_000, what: "ingest to recover" });
  expect((await fetch(`${base}/ready`)).status).toBe(200);
  expect(api.proc.exitCode).toBeNull();
}, 60_000);
