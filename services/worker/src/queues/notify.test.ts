import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createJwt } from "@bump/auth";
import { BumpClient } from "@bump/client";
import type { JobUpdate } from "@bump/contracts";
import { Delivery, deliveryKeys, RedisPresence } from "@bump/delivery";
import { defineQueue, Queue, QueueWorker } from "@bump/jobs";
import type { RedisClient as Redis } from "@bump/streams";
import { createRedis } from "@bump/streams";
import {
  freePort,
  type ServiceProcess,
  spawnService,
  testRedisUrl,
  uniquePrefix,
  waitFor,
  waitForHttp,
} from "@bump/testing";
import { z } from "zod";
import { deliveryNotifier } from "./notify.ts";

const SECRET = "notify-test-secret-notify-test-secret-01";
const ns = uniquePrefix("ntf");
let redis: Redis;
let gateway: ServiceProcess;
let url: string;
let delivery: Delivery;
const workers: QueueWorker[] = [];
const clients: BumpClient[] = [];

beforeAll(async () => {
  const redisUrl = await testRedisUrl();
  redis = createRedis(redisUrl);
  const keys = deliveryKeys(ns);
  delivery = new Delivery({ redis, keys, presence: new RedisPresence({ redis, keys }) });
  const port = await freePort();
  gateway = spawnService("services/websocket/src/main.ts", {
    REDIS_URL: redisUrl,
    BUS_NAMESPACE: ns,
    PORT: String(port),
    GATEWAY_ID: "ntf-gw",
    AUTH_SECRET: SECRET,
    LOG_LEVEL: "warn",
    DELIVERY_HEAD_CHECK_MS: "200",
    PRESENCE_TTL_MS: "3000",
  });
  await waitForHttp(`http://127.0.0.1:${port}/ready`, 60_000);
  url = `ws://127.0.0.1:${port}/ws`;
}, 90_000);

afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all(workers.map((w) => w.close(100)));
  await gateway?.kill9();
  redis?.disconnect();
});

describe("job frames", () => {
  test("a job's updates reach its owner's socket once each, in order, through a failed attempt", async () => {
    const jwt = createJwt(SECRET);
    const seen: { offset: string; job: JobUpdate }[] = [];
    const client = new BumpClient({ url, token: () => jwt.sign("owner-1") });
    clients.push(client);
    client.on("job", (f) => seen.push({ offset: f.offset, job: f.job }));
    await client.connect();
    const def = defineQueue({
      name: "notified",
      schema: z.object({ n: z.number() }),
      attempts: 2,
      backoff: { type: "fixed", delayMs: 50, jitter: 0 },
      handler: async (job, ctx) => {
        await ctx.progress(25);
        if (job.attempt === 1) throw new Error("first attempt fails");
        await ctx.progress(75);
        return { n: job.data.n * 2 };
      },
    });
    const queue = new Queue(redis, def, { ns });
    const worker = new QueueWorker(redis, def as never, {
      ns,
      pollMs: 20,
      blockMs: 100,
      notify: deliveryNotifier(delivery),
    });
    workers.push(worker);
    await worker.start();
    const { jobId } = await queue.add({ n: 21 }, { owner: "owner-1" });
    await waitFor(() => seen.some((s) => s.job.state === "completed"), { timeoutMs: 60_000, what: "completed" });
    await Bun.sleep(300);
    expect(seen.map((s) => [s.job.state, s.job.progress ?? null])).toEqual([
      ["active", null],
      ["progress", 25],
      ["retrying", null],
      ["active", null],
      ["progress", 25],
      ["progress", 75],
      ["completed", null],
    ]);
    expect(seen.every((s) => s.job.id === jobId && s.job.queue === "notified")).toBe(true);
    expect(seen.at(-1)?.job.result).toEqual({ n: 42 });
    const seqs = seen.map((s) => Number(s.offset.split(":")[1]));
    expect(seqs).toEqual(seqs.map((_, i) => (seqs[0] ?? 0) + i));

    // The outcome reported again (a retried notify) is not shown twice.
    const last = seen.at(-1)?.job as JobUpdate;
    await deliveryNotifier(delivery)("owner-1", last);
    await delivery.deliver(
      ["owner-1"],
      { type: "job", job: { id: "later", queue: "notified", state: "active" } },
      {
        reliable: true,
      },
    );
    await waitFor(() => seen.some((s) => s.job.id === "later"), { timeoutMs: 60_000, what: "later frame" });
    expect(seen.filter((s) => s.job.state === "completed")).toHaveLength(1);
  });
});
