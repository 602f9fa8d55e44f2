import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createJwt } from "@bump/auth";
import { BumpClient } from "@bump/client";
import { type GroupEvent, groupEvent } from "@bump/contracts";
import { createDb, type Database, migrate } from "@bump/db";
import { Delivery, deliveryKeys, RedisPresence } from "@bump/delivery";
import { GroupStore, groupsKeys } from "@bump/groups";
import type { RedisClient as Redis } from "@bump/streams";
import { createRedis, Producer } from "@bump/streams";
import {
  createTestDatabase,
  freePort,
  type ServiceProcess,
  spawnService,
  type TestDatabase,
  testRedisUrl,
  uniquePrefix,
  waitFor,
  waitForHttp,
} from "@bump/testing";
import { type RunningGroupFanout, startGroupFanout } from "./group-fanout.ts";

const SECRET = "group-test-secret-group-test-secret-0123";
const jwt = createJwt(SECRET);
const ns = uniquePrefix("grp");
let redisUrl: string;
let tdb: TestDatabase;
let database: Database;
let redis: Redis;
let running: RunningGroupFanout;
let store: GroupStore;
let announce: Producer<GroupEvent>;
const procs: ServiceProcess[] = [];
const clients: BumpClient[] = [];

async function gateway(id: string): Promise<string> {
  const port = await freePort();
  const proc = spawnService("services/websocket/src/main.ts", {
    REDIS_URL: redisUrl,
    BUS_NAMESPACE: ns,
    PORT: String(port),
    GATEWAY_ID: id,
    AUTH_SECRET: SECRET,
    LOG_LEVEL: "warn",
    DELIVERY_HEAD_CHECK_MS: "200",
    PRESENCE_TTL_MS: "3000",
  });
  procs.push(proc);
  await waitForHttp(`http://127.0.0.1:${port}/ready`);
  return `ws://127.0.0.1:${port}/ws`;
}

beforeAll(async () => {
  redisUrl = await testRedisUrl();
  tdb = await createTestDatabase();
  await migrate(tdb.url);
  database = createDb(tdb.url);
  redis = createRedis(redisUrl);
  const dk = deliveryKeys(ns);
  const delivery = new Delivery({ redis, keys: dk, presence: new RedisPresence({ redis, keys: dk }) });
  store = new GroupStore(database.db);
  announce = new Producer({ redis, keys: groupsKeys(ns).stream, schema: groupEvent });
  running = await startGroupFanout({ redis, db: database.db, delivery, ns, inlineMax: 3, chunk: 2, blockMs: 50 });
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await running?.close();
  await Promise.all(procs.map((p) => p.kill9()));
  redis.disconnect();
  await database.close();
  await tdb.close();
});

/** Posts as the API does: store with the next seq, then announce on the `groups` stream. */
async function post(group: string, sender: string, text: string): Promise<void> {
  const r = await store.post(group, sender, crypto.randomUUID(), text, Date.now());
  if (r.status !== "created") throw new Error(r.status);
  await announce.add({ group_id: group, seq: r.message.seq, sender, at: Date.parse(r.message.at) });
}

describe("group fan-out through gateways", () => {
  test("concurrent senders: every member sees every seq once, in order, across a gateway restart", async () => {
    let url = await gateway("gw1");
    const small = ["s1", "s2", "s3"];
    const large = ["l1", "l2", "l3", "l4", "l5"];
    await store.create("small", "small", "s1", small, Date.now());
    await store.create("large", "large", "l1", large, Date.now());
    const seen = new Map<string, number[]>();
    const frames = new Map<string, number>();
    for (const user of [...small, ...large]) {
      const client = new BumpClient({ url: () => url, token: () => jwt.sign(user), minDelayMs: 50, maxDelayMs: 300 });
      client.on("message", (f) => {
        const key = `${user}/${f.group_id}`;
        seen.set(key, [...(seen.get(key) ?? []), ...f.messages.map((m) => m.seq)]);
        frames.set(key, (frames.get(key) ?? 0) + 1);
      });
      clients.push(client);
      await client.connect();
    }
    const perSender = 8;
    const burst = (group: string, senders: string[], from: number) =>
      Promise.all(
        senders.map(async (s) => {
          for (let i = from; i < from + perSender / 2; i++) await post(group, s, `${s}-${i}`);
        }),
      );
    const expected = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
    const want = { small: small.length * perSender, large: 3 * perSender };
    const keysOf = () => [...small.map((u) => `${u}/small`), ...large.map((u) => `${u}/large`)];
    const reached = (part: number) =>
      keysOf().every((k) => (seen.get(k)?.length ?? 0) >= (k.endsWith("small") ? want.small : want.large) / part);
    await Promise.all([burst("small", small, 0), burst("large", large.slice(0, 3), 0)]);
    // Every client now holds an offset to resume from; the second half is posted while the gateway restarts.
    await waitFor(() => reached(2), { timeoutMs: 30_000 });
    const old = procs[0] as ServiceProcess;
    const second = Promise.all([
      burst("small", small, perSender / 2),
      burst("large", large.slice(0, 3), perSender / 2),
    ]);
    await old.stop();
    url = await gateway("gw2");
    await second;
    await waitFor(() => reached(1), { timeoutMs: 30_000 }).catch(async (e) => {
      console.log([...seen].map(([k, v]) => `${k}: ${v.join(",")}`).join("\n"));
      console.log(await running.fanout.stats("small"), await running.fanout.stats("large"));
      throw e;
    });
    for (const u of small) expect(seen.get(`${u}/small`)).toEqual(expected(want.small));
    for (const u of large) expect(seen.get(`${u}/large`)).toEqual(expected(want.large));
    expect(await running.fanout.stats("large")).toMatchObject({ delivered_seq: want.large, messages: want.large });
    // Each frame the fan-out sent reached the member once.
    const stats = await running.fanout.stats("small");
    expect(stats.frames).toBe(frames.get("s1/small") ?? -1);
  }, 90_000);
});
