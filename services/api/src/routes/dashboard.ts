import { readFileSync } from "node:fs";
import { deliveryKeys } from "@bump/delivery";
import { partitionedStreamKeys, streamKeys, streamNames } from "@bump/streams";
import { Hono } from "hono";
import { z } from "zod";
import type { ApiEnv } from "../context.ts";
import { liveView } from "../dashboard/live.ts";
import { presenceSummary } from "../dashboard/presence.ts";
import { requireRole } from "../middleware/auth.ts";
import type { RouteModule } from "./route-module.ts";

const page = readFileSync(new URL("../dashboard/page.html", import.meta.url), "utf8");
const script = readFileSync(new URL("../dashboard/app.js", import.meta.url), "utf8");

/** Same-origin only: the page loads nothing from elsewhere and runs no inline script. */
const csp =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const liveQuery = z.strictObject({
  window_s: z.coerce.number().int().min(1).max(3_600).default(60),
  count: z.coerce.number().int().min(1).max(5_000).default(2_000),
});

/** Options of {@link dashboardRoutes}. */
export interface DashboardRoutesOptions {
  /** Namespace of the bus streams (tests). Default none. */
  busNs?: string;
  /** Namespace of the delivery keys (tests). Default none. */
  deliveryNs?: string;
  /** Most presence keys one `/v1/admin/sockets` call examines. Default 100,000. */
  presenceMaxKeys?: number;
  /** Partitions of the `locations` stream (`BUMP_PARTITIONS`); the map reads every one. Default 1. */
  partitions?: number;
}

/**
 * The operators' dashboard: `GET /dashboard` (a static page and `GET /dashboard/app.js`, public: they hold no data
 * and ask for an admin token, kept in the browser's localStorage) polling the admin endpoints, plus the two admin
 * endpoints it needs beside `adminRoutes`: `GET /v1/admin/live` (the recent tail of locations, viewports and bumps
 * for the map) and `GET /v1/admin/sockets` (connected users per gateway from presence).
 */
export function dashboardRoutes(opts: DashboardRoutesOptions = {}): RouteModule {
  return (deps, openapi) => {
    const app = new Hono<ApiEnv>();
    const bus = (name: string) => streamKeys(name, opts.busNs ? { ns: opts.busNs } : {}).stream;
    const streams = {
      locations: partitionedStreamKeys(streamNames.locations, {
        ...(opts.busNs ? { ns: opts.busNs } : {}),
        partitions: opts.partitions ?? 1,
      }).map((k) => k.stream),
      viewports: bus(streamNames.viewports),
      bumps: bus(streamNames.bumps),
    };
    const delivery = deliveryKeys(opts.deliveryNs ?? "");
    const headers = {
      "cache-control": "no-store",
      "content-security-policy": csp,
      "x-content-type-options": "nosniff",
    };

    app.get("/dashboard", (c) => c.body(page, 200, { ...headers, "content-type": "text/html; charset=utf-8" }));
    app.get("/dashboard/app.js", (c) =>
      c.body(script, 200, { ...headers, "content-type": "text/javascript; charset=utf-8" }),
    );

    app.get("/v1/admin/live", requireRole("admin"), async (c) => {
      const q = liveQuery.parse(c.req.query());
      const view = await liveView(deps.redis, streams, {
        windowMs: q.window_s * 1_000,
        count: q.count,
        now: (deps.clock ?? Date.now)(),
      });
      return c.json(view);
    });

    app.get("/v1/admin/sockets", requireRole("admin"), async (c) => {
      return c.json(await presenceSummary(deps.redis, delivery, { maxKeys: opts.presenceMaxKeys ?? 100_000 }));
    });

    openapi.add({
      method: "get",
      path: "/dashboard",
      summary: "The operators' dashboard page (asks for an admin token)",
      tags: ["admin"],
      auth: false,
      responses: { 200: { description: "HTML" } },
    });
    openapi.add({
      method: "get",
      path: "/v1/admin/live",
      summary: "Latest fix per active user, live viewports and bumps of the last `window_s` seconds",
      tags: ["admin"],
      roles: ["admin"],
      query: liveQuery,
      responses: { 200: { description: "users, viewports and bumps, at most `count` entries read per stream" } },
    });
    openapi.add({
      method: "get",
      path: "/v1/admin/sockets",
      summary: "Connected users per gateway, from presence",
      tags: ["admin"],
      roles: ["admin"],
      responses: { 200: { description: "gateways with their user counts, distinct users" } },
    });
    return app;
  };
}
