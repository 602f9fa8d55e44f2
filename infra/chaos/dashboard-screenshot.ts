/**
 * `bun run dashboard:screenshot [--out docs/dashboard.png] [--users 300] [--seconds 25]`: starts the whole stack
 * (throwaway Redis and database, five services), runs the city simulator against the API, connects a few
 * WebSocket clients with viewports, dead-letters two entries, then photographs `/dashboard` in headless Chromium
 * under that load. Traffic stays on 127.0.0.1; everything it started is stopped at the end.
 */
import { parseArgs } from "node:util";
import { createJwt } from "@bump/auth";
import { BumpClient } from "@bump/client";
import { devAuthSecret } from "@bump/service";
import { createRedis, streamKeys, streamNames } from "@bump/streams";
import { spawnService } from "@bump/testing";
import { chromium } from "playwright-core";
import { startStack } from "./stack.ts";

const { values: args } = parseArgs({
  options: {
    out: { type: "string", default: "docs/dashboard.png" },
    users: { type: "string", default: "300" },
    seconds: { type: "string", default: "25" },
    chromium: { type: "string", default: "/usr/bin/chromium" },
  },
});

const stack = await startStack({ env: { AUTH_SECRET: devAuthSecret } });
const jwt = createJwt(devAuthSecret);
const clients: BumpClient[] = [];
const sim = spawnService("bench/sim/main.ts", {}, [
  ...["--users", args.users, "--minutes", String(Number(args.seconds) / 60 + 0.5), "--interval", "2"],
  ...["--api", stack.url("api"), "--out", "/dev/null", "--settle", "0"],
]);
try {
  // A few map users watching parts of the city (the simulator's city is around Berlin's centre).
  for (let i = 0; i < 6; i++) {
    const client = new BumpClient({
      url: `ws://127.0.0.1:${stack.ports.websocket}/ws`,
      token: await jwt.sign(`viewer-${i}`),
    });
    await client.connect();
    const lat = 52.5 + (i % 3) * 0.008;
    const lng = 13.38 + Math.floor(i / 3) * 0.012;
    client.setViewport({ south: lat, north: lat + 0.01, west: lng, east: lng + 0.014 });
    clients.push(client);
  }
  // Two entries a consumer refuses, so the dead-letter column and its replay button show.
  const redis = createRedis(stack.redis.url);
  await redis.xadd(streamKeys(streamNames.entities).stream, "*", "d", '{"not":"an entity"}');
  await redis.xadd(streamKeys(streamNames.entities).stream, "*", "d", "not json");
  redis.disconnect();

  await Bun.sleep(Number(args.seconds) * 1000);
  const browser = await chromium.launch({
    executablePath: args.chromium,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    await page.goto(`${stack.url("api")}/dashboard`);
    await page.fill("#token", await jwt.sign("ops", { roles: ["admin"] }));
    await page.click("#save-token");
    await page.waitForSelector('tr[data-stream="locations"]');
    await Bun.sleep(2_500);
    await page.screenshot({ path: args.out, fullPage: true });
    console.log(`wrote ${args.out}`);
  } finally {
    await browser.close();
  }
} finally {
  for (const c of clients) c.close();
  await sim.kill9().catch(() => {});
  await stack.stop();
}
