import {
  type LocationEvent,
  type LocationInput,
  locationBatch,
  locationInput,
  parseLocationBatch,
  parseLocationInput,
} from "@bump/contracts";
import { Hono } from "hono";
import { z } from "zod";
import type { ApiEnv } from "../context.ts";
import { HttpError } from "../errors/http-error.ts";
import { toLocationEvent } from "../ingest/location-event.ts";
import { LocationIngest } from "../ingest/location-ingest.ts";
import { readJson } from "../middleware/json-body.ts";
import type { RouteModule } from "./route-module.ts";

const accepted = z.strictObject({ id: z.string() });
const acceptedBatch = z.strictObject({ accepted: z.int(), ids: z.array(z.string()) });

function events(userId: string, inputs: readonly LocationInput[], now: number, prefix: string): LocationEvent[] {
  return inputs.map((input, i) => {
    const e = toLocationEvent(userId, input, now);
    if ("path" in e)
      throw new HttpError("invalid_request", "invalid request", [
        { ...e, path: prefix ? `${prefix}${i}.${e.path}` : e.path },
      ]);
    return e;
  });
}

/**
 * `POST /v1/locations` and `POST /v1/locations/batch`: validated against the contract (strict: a `user_id` in
 * the body is rejected; the user comes from the token), then appended to the `locations` stream. 202 only
 * after Redis acknowledged every entry; nothing is written for a 4xx; a batch is all or nothing.
 */
export const locationRoutes: RouteModule = (deps, openapi) => {
  const app = new Hono<ApiEnv>();
  const ingest = new LocationIngest(deps.locations);
  const clock = deps.clock ?? Date.now;

  app.post("/v1/locations", async (c) => {
    const body = await readJson(c);
    const now = clock();
    const parsed = parseLocationInput(body, now);
    if (!parsed.success) throw parsed.error;
    const userId = c.get("identity").userId;
    const [event] = events(userId, [parsed.data], now, "");
    const [id] = await ingest.publish([event as LocationEvent], () => parsed.data.id !== undefined);
    return c.json({ id }, 202);
  });

  app.post("/v1/locations/batch", async (c) => {
    const body = await readJson(c);
    const now = clock();
    const parsed = parseLocationBatch(body, now);
    if (!parsed.success) throw parsed.error;
    const userId = c.get("identity").userId;
    const updates = parsed.data.updates;
    const list = events(userId, updates, now, "updates.");
    const ids = await ingest.publish(list, (_, i) => updates[i]?.id !== undefined);
    return c.json({ accepted: ids.length, ids }, 202);
  });

  openapi.add({
    method: "post",
    path: "/v1/locations",
    summary: "Send one location fix; idempotent when `id` is given",
    tags: ["locations"],
    body: locationInput,
    responses: { 202: { description: "on the bus", schema: accepted } },
  });
  openapi.add({
    method: "post",
    path: "/v1/locations/batch",
    summary: "Send 1..500 fixes, all or nothing",
    tags: ["locations"],
    body: locationBatch,
    responses: { 202: { description: "all on the bus", schema: acceptedBatch } },
  });
  return app;
};
