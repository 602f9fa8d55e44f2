import { type EntityEvent, entityId, entityPut } from "@bump/contracts";
import { Hono } from "hono";
import { z } from "zod";
import type { ApiEnv } from "../context.ts";
import { requireRole } from "../middleware/auth.ts";
import { readJson } from "../middleware/json-body.ts";
import type { RouteModule } from "./route-module.ts";

const accepted = z.strictObject({ id: entityId });
const params = z.strictObject({ id: entityId });

/**
 * `PUT /v1/entities/:id` and `DELETE /v1/entities/:id` (publisher role): the change, stamped with the receipt
 * time as `updated_at`, is appended to the `entities` stream; 202 only after Redis acknowledged it. The
 * filter-processor delivers it to the viewports holding it and its `entity-writer` group stores it in Postgres,
 * last writer wins on `updated_at` (two writes of one id within the same millisecond: the first stands). A bad
 * id or body answers 400 with details and writes nothing; a caller without the role gets 403.
 */
export const entityRoutes: RouteModule = (deps, openapi) => {
  const app = new Hono<ApiEnv>();
  const clock = deps.clock ?? Date.now;

  app.put("/v1/entities/:id", requireRole("publisher"), async (c) => {
    const { id } = params.parse({ id: c.req.param("id") });
    const body = entityPut.parse(await readJson(c));
    const event: EntityEvent = { op: "upsert", id, ...body, updated_at: clock() };
    await deps.entities.add(event);
    return c.json({ id }, 202);
  });

  app.delete("/v1/entities/:id", requireRole("publisher"), async (c) => {
    const { id } = params.parse({ id: c.req.param("id") });
    await deps.entities.add({ op: "remove", id, updated_at: clock() });
    return c.json({ id }, 202);
  });

  openapi.add({
    method: "put",
    path: "/v1/entities/{id}",
    summary: "Create or replace a map entity; delivered live to the viewports holding it",
    tags: ["entities"],
    roles: ["publisher"],
    params,
    body: entityPut,
    responses: { 202: { description: "on the bus", schema: accepted } },
  });
  openapi.add({
    method: "delete",
    path: "/v1/entities/{id}",
    summary: "Remove a map entity; viewports holding it are told",
    tags: ["entities"],
    roles: ["publisher"],
    params,
    responses: { 202: { description: "on the bus", schema: accepted } },
  });
  return app;
};
