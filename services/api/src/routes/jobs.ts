import { jobEnqueue, jobId, jobRecord } from "@bump/contracts";
import { catalog, publicQueues, Queue, type QueueOptions, type QueueSpec, queueOfJobId } from "@bump/jobs";
import { MessageValidationError } from "@bump/streams";
import { Hono } from "hono";
import { z } from "zod";
import type { ApiEnv } from "../context.ts";
import { HttpError } from "../errors/http-error.ts";
import { readJson } from "../middleware/json-body.ts";
import type { RouteModule } from "./route-module.ts";

const accepted = z.strictObject({ job_id: jobId });
const cancelAnswer = z.strictObject({
  job_id: jobId,
  state: z.enum(["cancelled", "cancelling", "finished"]),
});
const params = z.strictObject({ id: jobId });
const query = z.strictObject({ download: z.enum(["0", "1"]).optional() });

/** Queues whose jobs only a `publisher` or `admin` may enqueue (they reach other users). */
const privileged = new Set<string>(["broadcast"]);

/** Producer handles of every built-in queue, by name. */
export function catalogQueues(
  redis: ConstructorParameters<typeof Queue>[0],
  opts: QueueOptions = {},
): Map<string, Queue> {
  const specs = Object.values(catalog) as QueueSpec[];
  return new Map(specs.map((spec) => [spec.name, new Queue(redis, spec, opts)]));
}

/**
 * `POST /v1/jobs` enqueues a job owned by the caller: an unknown (or internal) queue or data failing the queue's
 * schema answers 400 and enqueues nothing; the same `idempotency_key` from the same user yields the same job.
 * `GET /v1/jobs/:id` answers the job record to its owner or an admin, and 404 to anyone else (as for an
 * unknown id); with `?download=1` it answers the job's file (an export's NDJSON) while it lasts.
 * `DELETE /v1/jobs/:id` cancels a job of the caller (admins: any job; anyone else 404, as for GET) and answers 202
 * `{job_id, state}`: `cancelled` (it had not run and never will), `cancelling` (it runs; its signal is aborted and
 * it fails with error `cancelled`) or `finished` (nothing changed).
 */
export function jobRoutes(opts: QueueOptions = {}): RouteModule {
  return (deps, openapi) => {
    const app = new Hono<ApiEnv>();
    const queues = catalogQueues(deps.redis, opts);
    const enqueueable = new Set<string>(publicQueues);

    app.post("/v1/jobs", async (c) => {
      const identity = c.get("identity");
      const body = jobEnqueue.parse(await readJson(c));
      const queue = enqueueable.has(body.queue) ? queues.get(body.queue) : undefined;
      if (!queue) {
        throw new HttpError("invalid_request", `unknown queue ${body.queue}`, [
          { path: "queue", message: "unknown queue" },
        ]);
      }
      if (privileged.has(body.queue) && !identity.roles.some((r) => r === "publisher" || r === "admin")) {
        throw new HttpError("forbidden", `queue ${body.queue} requires the publisher role`);
      }
      try {
        const { jobId: id } = await queue.add(body.data, {
          priority: body.priority,
          owner: identity.userId,
          ...(body.delay_ms ? { delayMs: body.delay_ms } : {}),
          ...(body.idempotency_key ? { idempotencyKey: body.idempotency_key } : {}),
        });
        return c.json({ job_id: id }, 202);
      } catch (err) {
        if (!(err instanceof MessageValidationError)) throw err;
        const details = err.issues.map((i) => ({ path: i.path ? `data.${i.path}` : "data", message: i.message }));
        throw new HttpError("invalid_request", `invalid data for queue ${body.queue}`, details);
      }
    });

    app.get("/v1/jobs/:id", async (c) => {
      const identity = c.get("identity");
      const { id } = params.parse({ id: c.req.param("id") });
      const { download } = query.parse(c.req.query());
      const queue = queues.get(queueOfJobId(id) ?? "");
      const job = queue ? await queue.get(id) : undefined;
      if (!queue || !job || (job.owner !== identity.userId && !identity.roles.includes("admin"))) {
        throw new HttpError("not_found", "no such job");
      }
      if (download !== "1") return c.json(job.record);
      const file = job.record.state === "completed" ? await queue.readArtifact(id) : null;
      if (!file) throw new HttpError("not_found", "this job has no file to download (or it expired)");
      return c.body(new Uint8Array(file), 200, {
        "content-type": "application/x-ndjson",
        "content-disposition": `attachment; filename="${id}.ndjson"`,
      });
    });

    app.delete("/v1/jobs/:id", async (c) => {
      const identity = c.get("identity");
      const { id } = params.parse({ id: c.req.param("id") });
      const queue = queues.get(queueOfJobId(id) ?? "");
      const job = queue ? await queue.get(id) : undefined;
      if (!queue || !job || (job.owner !== identity.userId && !identity.roles.includes("admin"))) {
        throw new HttpError("not_found", "no such job");
      }
      const state = await queue.cancel(id);
      if (state === "not_found") throw new HttpError("not_found", "no such job");
      return c.json({ job_id: id, state }, 202);
    });

    openapi.add({
      method: "post",
      path: "/v1/jobs",
      summary: "Enqueue a job (queues: broadcast for publishers, export); progress arrives as job frames",
      tags: ["jobs"],
      body: jobEnqueue,
      responses: { 202: { description: "enqueued", schema: accepted } },
    });
    openapi.add({
      method: "get",
      path: "/v1/jobs/{id}",
      summary: "A job of the caller (admins: any job); `?download=1` answers its file",
      tags: ["jobs"],
      params,
      query,
      responses: { 200: { description: "the job record, or its NDJSON file", schema: jobRecord } },
    });
    openapi.add({
      method: "delete",
      path: "/v1/jobs/{id}",
      summary: "Cancel a job of the caller (admins: any job); a running job's signal is aborted",
      tags: ["jobs"],
      params,
      responses: { 202: { description: "cancelled, cancelling, or already finished", schema: cancelAnswer } },
    });
    return app;
  };
}
