import { locationBatch, locationInput, parseLocationBatch, parseLocationInput } from "@bump/contracts";
import { Hono } from "hono";
import { z } from "zod";
import type { ApiEnv } from "../context.ts";
import type { DirectHandler } from "../direct-routes.ts";
import { HttpError } from "../errors/http-error.ts";
import { isLocationBatch, isLocationInput } from "../ingest/location-check.ts";
import { type EncodedFix, encodeFix, type FieldProblem } from "../ingest/location-event.ts";
import { LocationIngest } from "../ingest/location-ingest.ts";
import { notJson, readRequestJson } from "../middleware/json-body.ts";
import type { RouteModule } from "./route-module.ts";

const accepted = z.strictObject({ id: z.string() });
const acceptedBatch = z.strictObject({ accepted: z.int(), ids: z.array(z.string()) });

/** The parsed value, or the `ZodError` thrown (rendered as a field-level 400 by `onError`). */
function dataOrThrow<T>(result: z.ZodSafeParseResult<T>): T {
  if (!result.success) throw result.error;
  return result.data;
}

function invalid(problem: FieldProblem, path: string): never {
  throw new HttpError("invalid_request", "invalid request", [{ ...problem, path }]);
}

/** One headers object for every 202 (a response copies it): cheaper than a plain object parsed each time. */
const ACCEPTED_INIT: ResponseInit = { status: 202, headers: new Headers({ "content-type": "application/json" }) };

/** 202 with a small JSON body, without going through Hono's serialiser. */
function acceptedResponse(json: string): Response {
  return new Response(json, ACCEPTED_INIT);
}

/**
 * `POST /v1/locations` and `POST /v1/locations/batch`: validated against the contract (strict: a `user_id` in
 * the body is rejected; the user comes from the token), then appended to the `locations` stream. 202 only
 * after Redis acknowledged every entry; nothing is written for a 4xx; a batch is all or nothing.
 *
 * Bodies are checked by the hand-written `isLocationInput`/`isLocationBatch` (same acceptance as the zod
 * schemas); zod runs only for a rejected body, to build the field-level 400. Both handlers are also registered
 * as direct routes, so the app answers them without Hono's router and middleware chain (same behaviour).
 */
export const locationRoutes: RouteModule = (deps, openapi, direct) => {
  const app = new Hono<ApiEnv>();
  const partitions = deps.locationPartitions;
  const ingest = new LocationIngest(partitions && partitions.length > 1 ? partitions : deps.locations);
  const clock = deps.clock ?? Date.now;
  const single: DirectHandler = async (req, identity) => {
    let body: unknown;
    try {
      body = await req.json();
    } catch {
      throw notJson();
    }
    const now = clock();
    const input = isLocationInput(body, now) ? body : dataOrThrow(parseLocationInput(body, now));
    const userId = identity.userId;
    const fix = encodeFix(JSON.stringify(userId), input, now);
    if ("path" in fix) invalid(fix, fix.path);
    await ingest.appendOne(userId, fix);
    return acceptedResponse(`{"id":"${fix.id}"}`);
  };
  const batchOf: DirectHandler = async (req, identity) => {
    const body = await readRequestJson(req);
    const now = clock();
    const batch = isLocationBatch(body, now) ? body : dataOrThrow(parseLocationBatch(body, now));
    const userId = identity.userId;
    const userJson = JSON.stringify(userId);
    const updates = batch.updates;
    const fixes: EncodedFix[] = new Array(updates.length);
    for (let i = 0; i < updates.length; i++) {
      const fix = encodeFix(userJson, updates[i] as (typeof updates)[number], now);
      if ("path" in fix) invalid(fix, `updates.${i}.${fix.path}`);
      fixes[i] = fix;
    }
    await ingest.append(userId, fixes);
    // Message ids are UUIDs (no character needs escaping), so the body is joined by hand.
    return acceptedResponse(`{"accepted":${fixes.length},"ids":["${fixes.map((f) => f.id).join('","')}"]}`);
  };
  app.post("/v1/locations", (c) => single(c.req.raw, c.get("identity")));
  app.post("/v1/locations/batch", (c) => batchOf(c.req.raw, c.get("identity")));
  direct?.post("/v1/locations", single);
  direct?.post("/v1/locations/batch", batchOf);

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
