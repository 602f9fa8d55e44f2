/**
 * End to end through Redis: entity changes XADDed to the `entities` stream at a fixed rate, one filter-processor
 * process (stream sink, no Postgres writer), frames read back from the sink stream. Latency = arrival - the
 * change's `updated_at` (stamped when it was sent).
 */
import type { Viewport } from "@bump/contracts";
import { createRedis } from "@bump/streams";
import { createTestDatabase, freePort, spawnService, uniquePrefix, waitFor, waitForHttp } from "@bump/testing";
import { filterKeys } from "../../services/filter-processor/src/keys.ts";
import { change, quantile, rng } from "./data.ts";

/** Results of one end-to-end run. */
export interface E2eResult {
  sent: number;
  perS: number;
  p50: number;
  p99: number;
  userFramesPerS: number;
  samples: number;
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

/** Runs `rate` changes/s for `seconds` against `boxes` viewports. */
export async function runE2e(
  redisUrl: string,
  boxes: readonly Viewport[],
  places: { lat: number; lng: number }[],
  rate: number,
  seconds: number,
): Promise<E2eResult> {
  const ns = uniquePrefix("bench-filter");
  const keys = filterKeys(ns);
  const redis = createRedis(redisUrl);
  const reader = createRedis(redisUrl, "blocking");
  const database = await createTestDatabase();
  const now = Date.now();
  for (let i = 0; i < boxes.length; i += 5_000) {
    const pipe = redis.pipeline();
    boxes.slice(i, i + 5_000).forEach((viewport, j) => {
      const ev = { user_id: `u${i + j}`, session_id: "s", viewport, at: now };
      pipe.xadd(keys.viewports.stream, "*", "d", JSON.stringify(ev));
    });
    await pipe.exec();
  }
  const port = await freePort();
  const proc = spawnService("services/filter-processor/src/main.ts", {
    REDIS_URL: redisUrl,
    DATABASE_URL: database.url,
    BUS_NAMESPACE: ns,
    PORT: String(port),
    LOG_LEVEL: "warn",
    FILTER_SINK: "stream",
    FILTER_WRITE_ENTITIES: "false",
    ...(process.env.FILTER_BATCH_MS ? { FILTER_BATCH_MS: process.env.FILTER_BATCH_MS } : {}),
  });
  let result: E2eResult;
  try {
    await waitForHttp(`http://127.0.0.1:${port}/ready`, 60_000);
    await waitFor(async () => (await metric(port, "filter_viewports")) >= boxes.length, {
      timeoutMs: 60_000,
      what: "viewports loaded",
    });
    const lat: number[] = [];
    let userFrames = 0;
    let reading = true;
    let last = "$";
    const t0 = performance.now();
    const readLoop = (async () => {
      while (reading) {
        const res = (await reader.xread("COUNT", 5_000, "BLOCK", 200, "STREAMS", keys.frames.stream, last)) as
          | [string, [string, string[]][]][]
          | null;
        const arrived = Date.now();
        for (const [, entries] of res ?? []) {
          for (const [id, f] of entries) {
            last = id;
            const frame = JSON.parse(f[5] as string) as { entity?: { updated_at: string } };
            userFrames += (f[1] as string).split(",").length;
            if (frame.entity) lat.push(arrived - Date.parse(frame.entity.updated_at));
          }
        }
      }
    })();
    const r = rng(11);
    const tickMs = 10;
    const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
    let sent = 0;
    const end = performance.now() + seconds * 1000;
    let next = performance.now();
    while (performance.now() < end) {
      const pipe = redis.pipeline();
      const at = Date.now();
      for (let i = 0; i < perTick; i++) {
        pipe.xadd(keys.entities.stream, "*", "d", JSON.stringify(change(r, places, 50_000, at)));
      }
      await pipe.exec();
      sent += perTick;
      next += tickMs;
      const wait = next - performance.now();
      if (wait > 0) await Bun.sleep(wait);
    }
    const elapsed = performance.now() - t0;
    await Bun.sleep(1_000);
    reading = false;
    await readLoop;
    lat.sort((a, b) => a - b);
    result = {
      sent,
      perS: (sent / elapsed) * 1000,
      p50: quantile(lat, 0.5),
      p99: quantile(lat, 0.99),
      userFramesPerS: (userFrames / elapsed) * 1000,
      samples: lat.length,
    };
  } finally {
    await proc.stop();
    await redis.del(keys.viewports.stream, keys.entities.stream, keys.frames.stream).catch(() => {});
    redis.disconnect();
    reader.disconnect();
    await database.close();
  }
  return result;
}
