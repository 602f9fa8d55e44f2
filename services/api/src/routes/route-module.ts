import type { Hono } from "hono";
import type { ApiEnv } from "../context.ts";
import type { AppDeps } from "../deps.ts";
import type { DirectRoutes } from "../direct-routes.ts";
import type { OpenApiRegistry } from "../openapi/registry.ts";

/**
 * A route file: builds a sub-app with full paths (`/v1/...`) from the app's dependencies and declares each of
 * its routes in `openapi`. `/v1/*` is already behind bearer auth (`c.get("identity")`); use `requireRole` for
 * more. Throw `HttpError` (or let a `ZodError` escape) for error answers; the app's `onError` renders them.
 * A hot route may also register its handler in `direct`, answered there without Hono's layers (same behaviour).
 */
export type RouteModule = (deps: AppDeps, openapi: OpenApiRegistry, direct?: DirectRoutes) => Hono<ApiEnv>;
