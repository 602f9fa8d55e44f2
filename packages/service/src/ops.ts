import { Hono } from "hono";
import type { Registry } from "./metrics.ts";

/** A readiness probe: resolves true when its dependency answers. */
export type ReadinessCheck = () => Promise<boolean> | boolean;

/** Options of {@link createOpsApp}. */
export interface OpsOptions {
  /** Metrics rendered at `/metrics`. */
  registry: Registry;
  /** Named checks that must all pass for `/ready` to answer 200. */
  checks: Record<string, ReadinessCheck>;
  /** Time allowed to each check before it counts as failed. Default 1000 ms. */
  checkTimeoutMs?: number;
}

async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      Promise.resolve().then(check),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The operations endpoints every service serves: `/health` (200 while the process runs), `/ready` (200 only
 * when every check passes, else 503 `{status:"unready", checks}`) and `/metrics` (Prometheus text).
 */
export function createOpsApp(opts: OpsOptions): Hono {
  const app = new Hono();
  const timeout = opts.checkTimeoutMs ?? 1000;
  app.get("/health", (c) => c.json({ status: "ok" }));
  app.get("/ready", async (c) => {
    const names = Object.keys(opts.checks);
    const results = await Promise.all(names.map((n) => runCheck(opts.checks[n] as ReadinessCheck, timeout)));
    const checks: Record<string, "ok" | "fail"> = {};
    names.forEach((n, i) => {
      checks[n] = results[i] ? "ok" : "fail";
    });
    const ready = results.every(Boolean);
    return c.json({ status: ready ? "ready" : "unready", checks }, ready ? 200 : 503);
  });
  app.get("/metrics", async (c) =>
    c.body(await opts.registry.render(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }),
  );
  return app;
}
