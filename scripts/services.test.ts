import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  createTestDatabase,
  freePort,
  type ServiceProcess,
  spawnService,
  type TestDatabase,
  testRedisUrl,
  uniquePrefix,
  waitForHttp,
} from "@bump/testing";

const names = ["api", "websocket", "filter-processor", "bump-detector", "worker"] as const;
let database: TestDatabase;
const procs = new Map<string, { proc: ServiceProcess; port: number }>();

beforeAll(async () => {
  database = await createTestDatabase();
  const redisUrl = await testRedisUrl();
  const ns = uniquePrefix("topology");
  for (const name of names) {
    const port = await freePort();
    const proc = spawnService(`services/${name}/src/main.ts`, {
      REDIS_URL: redisUrl,
      DATABASE_URL: database.url,
      PORT: String(port),
      BUS_NAMESPACE: ns,
      LOG_LEVEL: "info",
      NODE_ENV: "test",
    });
    procs.set(name, { proc, port });
  }
});

afterAll(async () => {
  await Promise.all([...procs.values()].map(({ proc }) => proc.kill9().catch(() => {})));
  await database.close();
});

describe("every service as a process", () => {
  test("each reaches /ready, serves /health and Prometheus /metrics", async () => {
    for (const [name, { port, proc }] of procs) {
      try {
        await waitForHttp(`http://127.0.0.1:${port}/ready`, 60_000);
      } catch (err) {
        throw new Error(`${name} never became ready:\n${proc.output().slice(-2000)}`, { cause: err });
      }
      expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
      const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get("content-type")).toContain("text/plain");
    }
  });

  test("each logs structured JSON and stops cleanly on SIGTERM", async () => {
    for (const [name, { proc }] of procs) {
      const code = await proc.stop();
      expect({ name, code }).toEqual({ name, code: 0 });
      const lines = proc
        .output()
        .split("\n")
        .filter((l) => l.startsWith("{"));
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines) expect(JSON.parse(l).service).toBe(name);
    }
  });
});
