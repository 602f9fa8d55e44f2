import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type BumpEvent, type LocationEvent, locationEvent, type ViewportEvent } from "@bump/contracts";
import { deliveryKeys, RedisPresence } from "@bump/delivery";
import { Consumer, Producer, streamKeys } from "@bump/streams";
import { testRedisUrl, uniquePrefix, waitFor } from "@bump/testing";
import { latLngToCell } from "h3-js";
import { type Browser, chromium, type Page } from "playwright-core";
import { z } from "zod";
import { createApp } from "../app.ts";
import { adminRoutes } from "../routes/admin.ts";
import { dashboardRoutes } from "../routes/dashboard.ts";
import { catalogQueues } from "../routes/jobs.ts";
import { createTestDeps, type TestDeps } from "../test-deps.ts";

/** Debian's Chromium, installed by `make setup`. */
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const chromiumArgs = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const ns = uniquePrefix("dash");
const keys = (name: string) => streamKeys(name, { ns });
let t: TestDeps;
let server: ReturnType<typeof Bun.serve>;
let browser: Browser;
let page: Page;
let adminToken: string;
let base: string;

function fix(user: string, lat: number, lng: number): LocationEvent {
  const now = Date.now();
  return {
    id: crypto.randomUUID(),
    user_id: user,
    latitude: lat,
    longitude: lng,
    recorded_at: now,
    received_at: now,
    cell: latLngToCell(lat, lng, 10),
  };
}

beforeAll(async () => {
  t = await createTestDeps({ redisUrl: await testRedisUrl(), database: false });
  const app = createApp(t.deps, {
    routes: [adminRoutes({ ns, busNs: ns }), dashboardRoutes({ busNs: ns, deliveryNs: ns })],
  });
  server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: app.fetch });
  base = `http://127.0.0.1:${server.port}`;
  adminToken = await t.jwt.sign("ops", { roles: ["admin"] });
  browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
  page = await browser.newPage();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  server?.stop(true);
  const all = ["locations", "viewports", "bumps", "entities"].flatMap((n) => [
    keys(n).stream,
    keys(n).dlq,
    keys(n).retryStream("g"),
    keys(n).retrySet("g"),
  ]);
  // one DEL per key: on a cluster the streams lie in different slots
  await Promise.all(all.map((k) => t.redis.del(k)));
  await t.close();
});

/** Waits until the element at `selector` shows exactly `text`. */
async function waitText(selector: string, text: string): Promise<void> {
  await page.waitForFunction(
    ([s, want]) => document.querySelector(s as string)?.textContent?.trim() === want,
    [selector, text],
    { timeout: 20_000 },
  );
}

describe("GET /dashboard in headless Chromium", () => {
  test("the page and its script are served without a token, same-origin only", async () => {
    const html = await fetch(`${base}/dashboard`);
    expect(html.status).toBe(200);
    expect(html.headers.get("content-type")).toContain("text/html");
    expect(html.headers.get("content-security-policy")).toContain("default-src 'none'");
    const body = await html.text();
    expect(body).not.toMatch(/https?:\/\//);
    expect((await fetch(`${base}/dashboard/app.js`)).headers.get("content-type")).toContain("javascript");
    expect((await fetch(`${base}/v1/admin/live`)).status).toBe(401);
  });

  test("asks for a token, refuses a non-admin one, then shows live stream numbers that change", async () => {
    const locations = new Producer({ redis: t.redis, keys: keys("locations"), schema: locationEvent });
    await locations.addMany([fix("alice", 52.52, 13.405), fix("bob", 52.5201, 13.4051), fix("carol", 52.51, 13.39)]);

    await page.goto(`${base}/dashboard?poll_ms=300`);
    await waitText("#status", "enter an admin token");
    await page.fill("#token", await t.jwt.sign("mallory"));
    await page.click("#save-token");
    await waitText("#status", "this token has no admin role");

    await page.fill("#token", adminToken);
    await page.click("#save-token");
    await waitText('tr[data-stream="locations"] td.length', "3");
    await locations.addMany([fix("dave", 52.53, 13.41), fix("erin", 52.5, 13.38)]);
    await waitText('tr[data-stream="locations"] td.length', "5");
    await waitText("#t-active", "5");
  });

  test("the map counts active users, live viewports and bumps", async () => {
    const now = Date.now();
    const viewport: ViewportEvent = {
      user_id: "alice",
      session_id: "s-alice",
      viewport: { north: 52.53, south: 52.5, east: 13.42, west: 13.38 },
      at: now,
    };
    const bump: BumpEvent = {
      id: "b-1",
      user_a: "alice",
      user_b: "bob",
      distance_m: 9,
      latitude: 52.52,
      longitude: 13.405,
      at: now,
      cell: latLngToCell(52.52, 13.405, 10),
    };
    await t.redis.xadd(keys("viewports").stream, "*", "d", JSON.stringify(viewport));
    await t.redis.xadd(keys("bumps").stream, "*", "d", JSON.stringify(bump));
    await waitText("#map-caption", "5 users · 1 viewports · 1 bumps, last 60 s");
    await waitText("#t-bumps", "1");
    // The canvas has drawn something besides the background.
    const painted = await page.evaluate(() => {
      const c = document.getElementById("map") as HTMLCanvasElement;
      const data = c.getContext("2d")?.getImageData(0, 0, c.width, c.height).data ?? new Uint8ClampedArray();
      let red = 0;
      for (let i = 0; i < data.length; i += 4) if ((data[i] ?? 0) > 200 && (data[i + 1] ?? 255) < 120) red++;
      return red;
    });
    expect(painted).toBeGreaterThan(0);
  });

  test("gateways show their connected users from presence", async () => {
    const presence = new RedisPresence({ redis: t.redis, keys: deliveryKeys(ns) });
    await presence.register("gw-a", ["alice", "bob", "carol"]);
    await presence.register("gw-b", ["dave"]);
    await waitText('tr[data-gateway="gw-a"] td.n', "3");
    await waitText('tr[data-gateway="gw-b"] td.n', "1");
    await waitText("#t-connected", "4");
    await presence.unregister("gw-a", ["alice", "bob", "carol"]);
    await presence.unregister("gw-b", ["dave"]);
  });

  test("the replay button empties a dead-letter stream back to its group", async () => {
    const k = keys("entities");
    const schema = z.strictObject({ n: z.number() });
    const consumer = new Consumer({ redis: t.redis, keys: k, group: "g", schema, handler: async () => {} });
    await consumer.start();
    await new Producer({ redis: t.redis, keys: k, schema }).addRaw(['{"not":"valid"}', "not json"]);
    await waitFor(async () => (await t.redis.xlen(k.dlq)) === 2, { timeoutMs: 10_000, what: "two dead letters" });
    await consumer.close();

    await waitText('tr[data-stream="entities"] td.dlq', "2");
    await page.click('button[data-replay="entities"]');
    await waitText('tr[data-stream="entities"] td.dlq', "0");
    expect(await t.redis.xlen(k.dlq)).toBe(0);
    // Replayed to the failing group alone, through its retry stream, with fresh attempts.
    expect(await t.redis.xlen(k.retryStream("g"))).toBe(2);
    expect(await page.isDisabled('button[data-replay="entities"]')).toBe(true);
  });

  test("pause and resume buttons switch a queue, and the token survives a reload", async () => {
    const queue = catalogQueues(t.redis, { ns }).get("export");
    if (!queue) throw new Error("no export queue in the catalog");
    await page.click('tr[data-queue="export"] button[data-queue-action="pause"]');
    await waitText('tr[data-queue="export"] td.state', "paused");
    expect((await queue.counts()).paused).toBe(true);

    await page.reload();
    await waitText('tr[data-queue="export"] td.state', "paused");
    await page.click('tr[data-queue="export"] button[data-queue-action="resume"]');
    await waitText('tr[data-queue="export"] td.state', "running");
    expect((await queue.counts()).paused).toBe(false);
  });
});
