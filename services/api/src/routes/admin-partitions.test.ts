import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { LocationEvent } from "@bump/contracts";
import { partitionedStreamKeys, streamNames } from "@bump/streams";
import { testRedisUrl, uniquePrefix } from "@bump/testing";
import { latLngToCell } from "h3-js";
import { createApp } from "../app.ts";
import { createTestDeps, type TestDeps } from "../test-deps.ts";
import { adminRoutes } from "./admin.ts";
import { dashboardRoutes } from "./dashboard.ts";

const PARTITIONS = 3;
const ns = uniquePrefix("adminparts");
const parts = partitionedStreamKeys(streamNames.locations, { ns, partitions: PARTITIONS });
let t: TestDeps;
let app: ReturnType<typeof createApp>;
let admin: string;

beforeAll(async () => {
  t = await createTestDeps({ redisUrl: await testRedisUrl(), database: false });
  app = createApp(t.deps, {
    routes: [
      adminRoutes({ ns, busNs: ns, partitions: PARTITIONS }),
      dashboardRoutes({ busNs: ns, deliveryNs: ns, partitions: PARTITIONS }),
    ],
  });
  admin = await t.jwt.sign("ops", { roles: ["admin"] });
});

afterAll(async () => {
  for (const k of parts) await t.redis.del(k.stream, k.dlq);
  await t.close();
});

const get = async (path: string) => {
  const res = await app.request(path, { headers: { authorization: `Bearer ${admin}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

function fix(user: string, latitude: number, at: number): LocationEvent {
  return {
    id: crypto.randomUUID(),
    user_id: user,
    latitude,
    longitude: 13.4,
    recorded_at: at,
    received_at: at,
    cell: latLngToCell(latitude, 13.4, 10),
  };
}

const add = (p: number, f: LocationEvent) => t.redis.xadd(parts[p]?.stream ?? "", "*", "d", JSON.stringify(f));

describe("admin and dashboard over partitioned locations", () => {
  test("streams are listed per partition, and dead letters are read per partition", async () => {
    const now = Date.now();
    await add(0, fix("ann", 52.5, now));
    await add(2, fix("bob", 52.6, now));
    await add(2, fix("bob", 52.61, now + 1));
    await t.redis.xadd(
      parts[2]?.dlq ?? "",
      "*",
      "o",
      "1-0",
      "g",
      "history",
      "e",
      "refused",
      "a",
      "3",
      "t",
      String(now),
      "d",
      "{}",
    );

    const { body } = await get("/v1/admin/streams");
    const streams = body.streams as { name: string; length: number; dlq_length: number }[];
    const byName = new Map(streams.map((s) => [s.name, s]));
    expect(byName.has("locations")).toBe(false);
    expect([0, 1, 2].map((p) => byName.get(`locations:${p}`)?.length)).toEqual([1, 0, 2]);
    expect(byName.get("locations:2")?.dlq_length).toBe(1);
    expect(byName.has("bumps")).toBe(true);

    const dlq = await get("/v1/admin/dlq/locations:2");
    expect(dlq.status).toBe(200);
    expect(dlq.body.dead_letters).toMatchObject([{ original_id: "1-0", group: "history", reason: "refused" }]);
    expect((await get("/v1/admin/dlq/locations")).status).toBe(404);
    expect((await get("/v1/admin/dlq/locations:3")).status).toBe(404);
  });

  test("the live map reads every partition, keeps each user's newest fix, and a fix on two partitions once", async () => {
    const now = Date.now();
    const twice = fix("cy", 52.7, now);
    await add(0, twice);
    await add(1, twice);
    await add(1, fix("dee", 52.8, now - 10));
    await Bun.sleep(2);
    const newest = fix("dee", 52.81, Date.now());
    await add(0, newest);

    const { body } = await get("/v1/admin/live?window_s=60");
    const users = body.users as { user_id: string; latitude: number }[];
    expect(users.filter((u) => u.user_id === "cy")).toHaveLength(1);
    expect(users.filter((u) => u.user_id === "dee")).toEqual([expect.objectContaining({ latitude: 52.81 })]);
    expect(new Set(users.map((u) => u.user_id))).toEqual(new Set(["ann", "bob", "cy", "dee"]));
  });
});
