import { afterAll, beforeAll, expect, test } from "bun:test";
import { locationEntryPayload } from "@bump/contracts";
import { createRedis, type RedisClient as Redis, streamKeys } from "@bump/streams";
import { testRedisUrl, uniquePrefix } from "@bump/testing";
import { encodeFix } from "../ingest/location-event.ts";
import { liveView } from "./live.ts";

const ns = uniquePrefix("live");
const keys = (name: string) => streamKeys(name, { ns }).stream;
let redis: Redis;

beforeAll(async () => {
  redis = createRedis(await testRedisUrl());
});
afterAll(async () => {
  for (const name of ["locations", "viewports", "bumps"]) await redis.del(keys(name));
  redis.disconnect();
});

/** A fix as the api encodes it, received at `at`. */
function fix(user: string, latitude: number, at: number): string {
  const f = encodeFix(JSON.stringify(user), { latitude, longitude: 13.4 }, at);
  if ("path" in f) throw new Error(f.message);
  return f.payload;
}

test("each user's latest fix, whether entries hold one fix or several", async () => {
  const now = Date.now();
  const entry = locationEntryPayload;
  await redis.xadd(keys("locations"), "*", "d", entry([fix("ann", 52.1, now), fix("bob", 52.2, now)]));
  await redis.xadd(keys("locations"), "*", "d", entry([fix("ann", 52.3, now + 1)]));
  await redis.xadd(keys("locations"), "*", "d", entry([fix("bob", 52.4, now + 2), fix("cid", 52.5, now + 2)]));
  await redis.xadd(keys("locations"), "*", "d", entry([fix("cid", 52.6, now + 3), fix("cid", 52.7, now + 4)]));
  const view = await liveView(
    redis,
    { locations: [keys("locations")], viewports: keys("viewports"), bumps: keys("bumps") },
    { windowMs: 60_000, count: 100 },
  );
  const latest = Object.fromEntries(view.users.map((u) => [u.user_id, u.latitude]));
  expect(latest).toEqual({ ann: 52.3, bob: 52.4, cid: 52.7 });
});
