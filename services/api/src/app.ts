import { createOpsApp } from "@bump/service";
import { Hono } from "hono";
import type { ApiEnv } from "./context.ts";
import type { AppDeps } from "./deps.ts";
import { DirectRoutes } from "./direct-routes.ts";
import { HttpError } from "./errors/http-error.ts";
import { errorResponse } from "./errors/to-response.ts";
import { bearerAuth } from "./middleware/auth.ts";
import { bodyLimit } from "./middleware/body-limit.ts";
import { HttpMetrics } from "./middleware/metrics.ts";
import { OpenApiRegistry } from "./openapi/registry.ts";
import { adminRoutes } from "./routes/admin.ts";
import { bumpRoutes } from "./routes/bumps.ts";
import { dashboardRoutes } from "./routes/dashboard.ts";
import { entityRoutes } from "./routes/entities.ts";
import { groupRoutes } from "./routes/groups.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { locationRoutes } from "./routes/locations.ts";
import type { RouteModule } from "./routes/route-module.ts";

/** Largest request body accepted: 1 MiB; larger ones answer 413 `payload_too_large`. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** The route files mounted by default, in order. Add a new one here (or pass it in `routes`). */
export const defaultRoutes: readonly RouteModule[] = routesFor("");

/**
 * The default route files with every Redis key they build under namespace `ns` (`BUS_NAMESPACE`; empty in
 * production): job queues, the `groups` stream, and the streams the admin and dashboard endpoints inspect, with
 * `bus.partitions` partitions of `locations` (`BUMP_PARTITIONS`, default 1).
 */
export function routesFor(ns: string, bus: { partitions?: number } = {}): RouteModule[] {
  const opt = ns || undefined;
  const partitions = bus.partitions ?? 1;
  return [
    locationRoutes,
    bumpRoutes,
    entityRoutes,
    jobRoutes({ ns: opt }),
    groupRoutes({ ns: opt }),
    adminRoutes({ ns: opt, busNs: opt, partitions }),
    dashboardRoutes({ busNs: opt, deliveryNs: opt, partitions }),
  ];
}

/** Options of {@link createApp}. */
export interface AppOptions {
  /** Route files to mount. Default {@link defaultRoutes}. */
  routes?: readonly RouteModule[];
}

/**
 * The API as a Hono app: `/health`, `/ready`, `/metrics`, `/openapi.json`, and every route file under `/v1`
 * behind bearer auth and a 1 MiB body limit. Every error leaves through one `onError` as
 * `{error:{code, message, details}}`; unknown paths answer 404 `not_found`. Routes registered as direct routes
 * (the location ingest) are answered by `app.fetch` (and so `app.request`) before Hono's dispatch.
 */
export function createApp(deps: AppDeps, opts: AppOptions = {}): Hono {
  const app = new Hono();
  const v1 = new Hono<ApiEnv>();
  const openapi = new OpenApiRegistry();
  const log = deps.logger;

  const metrics = new HttpMetrics(deps.registry);
  const direct = new DirectRoutes();
  app.use(metrics.middleware());
  v1.use("/v1/*", bodyLimit(MAX_BODY_BYTES));
  v1.use("/v1/*", bearerAuth(deps.jwt));
  for (const mount of opts.routes ?? defaultRoutes) v1.route("/", mount(deps, openapi, direct));
  app.route("/", v1);
  app.route("/", createOpsApp({ registry: deps.registry, checks: deps.readiness }));

  let document: string | undefined;
  app.get("/openapi.json", (c) => {
    document ??= JSON.stringify(openapi.document({ title: "Bump Realtime API", version: "1" }));
    return c.body(document, 200, { "content-type": "application/json" });
  });

  app.notFound((c) =>
    errorResponse(new HttpError("not_found", "no such route"), log, { method: c.req.method, path: c.req.path }),
  );
  app.onError((err, c) => errorResponse(err, log, { method: c.req.method, path: c.req.path }));
  if (direct.size > 0) {
    // the ingest routes skip Hono's router, context and middleware chain (same checks, errors and metrics)
    const ctx = { jwt: deps.jwt, metrics, logger: log, maxBodyBytes: MAX_BODY_BYTES };
    const dispatch = app.fetch;
    app.fetch = (req, env, executionCtx) => direct.fetch(req, ctx) ?? dispatch(req, env, executionCtx);
  }
  return app;
}
