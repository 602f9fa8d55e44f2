import type { QueueOptions } from "@bump/jobs";
import {
  groupBacklogs,
  listDeadLetters,
  partitionedStreamKeys,
  replayDeadLetters,
  type StreamKeys,
  streamNames,
} from "@bump/streams";
import { Hono } from "hono";
import { z } from "zod";
import type { ApiEnv } from "../context.ts";
import { HttpError } from "../errors/http-error.ts";
import { requireRole } from "../middleware/auth.ts";
import { catalogQueues } from "./jobs.ts";
import type { RouteModule } from "./route-module.ts";

const queueParams = z.strictObject({ queue: z.string().min(1).max(64) });
const streamParams = z.strictObject({ stream: z.string().min(1).max(80) });
const limitQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(1_000).default(100) });
const replayBody = z.strictObject({ ids: z.array(z.string().min(1).max(64)).min(1).max(1_000).optional() });

/** Options of {@link adminRoutes}. */
export interface AdminRoutesOptions extends QueueOptions {
  /** Namespace of the bus streams (tests). Default none. */
  busNs?: string;
  /** Partitions of the `locations` stream (`BUMP_PARTITIONS`): above 1 each is listed as `locations:<p>`. Default 1. */
  partitions?: number;
}

/**
 * The operators' endpoints (admin role): queue counts, pause and resume; every stream's length, groups
 * (consumers, pending, lag) and dead-letter length; dead letters of a stream and their replay. A job queue's
 * dead letters are under the stream name `jobs:<queue>`; replaying one runs the job again with fresh attempts.
 */
export function adminRoutes(opts: AdminRoutesOptions = {}): RouteModule {
  return (deps, openapi) => {
    const app = new Hono<ApiEnv>();
    const queues = catalogQueues(deps.redis, opts);
    const busNs = opts.busNs ? { ns: opts.busNs } : {};
    const partitions = opts.partitions ?? 1;
    /** Every bus stream by its admin name: `locations:<p>` for each partition when partitioned. */
    const bus = new Map<string, StreamKeys>();
    for (const name of Object.values(streamNames)) {
      const parts = name === streamNames.locations ? partitions : 1;
      for (const k of partitionedStreamKeys(name, { ...busNs, partitions: parts })) bus.set(k.name, k);
    }
    const queueOf = (name: string) => {
      const q = queues.get(name);
      if (!q) throw new HttpError("not_found", `no queue ${name}`);
      return q;
    };
    /** Resolves a stream name of the admin API: a bus stream, or `jobs:<queue>`. */
    const target = (stream: string) => {
      if (stream.startsWith("jobs:")) return { queue: queueOf(stream.slice(5)) };
      const keys = bus.get(stream);
      if (!keys) throw new HttpError("not_found", `no stream ${stream}`);
      return { keys };
    };

    app.use("/v1/admin/*", requireRole("admin"));

    app.get("/v1/admin/queues", async (c) => {
      const rows = await Promise.all([...queues.values()].map(async (q) => ({ name: q.name, ...(await q.counts()) })));
      return c.json({ queues: rows });
    });

    for (const action of ["pause", "resume"] as const) {
      app.post(`/v1/admin/queues/:queue/${action}`, async (c) => {
        const q = queueOf(queueParams.parse({ queue: c.req.param("queue") }).queue);
        await (action === "pause" ? q.pause() : q.resume());
        return c.json({ queue: q.name, paused: action === "pause" });
      });
    }

    app.get("/v1/admin/streams", async (c) => {
      const all = [
        ...[...bus].map(([name, k]) => ({ name, stream: k.stream, dlq: k.dlq })),
        ...[...queues.values()].flatMap((q) =>
          Object.values(q.keys.streams).map((k) => ({ name: k.name, stream: k.stream, dlq: k.dlq })),
        ),
      ];
      const streams = await Promise.all(
        all.map(async (s) => {
          const [length, dlqLength, groups] = await Promise.all([
            deps.redis.xlen(s.stream),
            deps.redis.xlen(s.dlq),
            groupBacklogs(deps.redis, s.stream),
          ]);
          return {
            name: s.name,
            length,
            dlq_length: dlqLength,
            groups: groups.map((g) => ({ name: g.group, consumers: g.consumers, pending: g.pending, lag: g.lag })),
          };
        }),
      );
      return c.json({ streams });
    });

    app.get("/v1/admin/dlq/:stream", async (c) => {
      const { stream } = streamParams.parse({ stream: c.req.param("stream") });
      const { limit } = limitQuery.parse(c.req.query());
      const t = target(stream);
      const rows = t.queue ? await t.queue.listDead(limit) : await listDeadLetters(deps.redis, t.keys, limit);
      return c.json({
        dead_letters: rows.map((d) => ({
          id: d.id,
          original_id: d.originalId,
          group: d.group,
          reason: d.error,
          attempts: d.attempts,
          at: new Date(d.at).toISOString(),
          payload: d.payload,
          ...("jobId" in d ? { job_id: d.jobId } : {}),
        })),
      });
    });

    app.post("/v1/admin/dlq/:stream/replay", async (c) => {
      const { stream } = streamParams.parse({ stream: c.req.param("stream") });
      const raw = await c.req.raw.text();
      let json: unknown = {};
      try {
        if (raw.trim()) json = JSON.parse(raw);
      } catch {
        throw new HttpError("invalid_request", "body is not valid JSON", [{ path: "", message: "invalid JSON" }]);
      }
      const { ids } = replayBody.parse(json);
      const t = target(stream);
      const replayed = t.queue ? await t.queue.replay(ids) : await replayDeadLetters(deps.redis, t.keys, ids);
      return c.json({ replayed });
    });

    openapi.add({
      method: "get",
      path: "/v1/admin/queues",
      summary: "Counts of every job queue",
      tags: ["admin"],
      roles: ["admin"],
      responses: { 200: { description: "per queue: waiting, active, delayed, completed, failed, paused" } },
    });
    openapi.add({
      method: "post",
      path: "/v1/admin/queues/{queue}/pause",
      summary: "Pause a queue: no new job starts",
      tags: ["admin"],
      roles: ["admin"],
      params: queueParams,
      responses: { 200: { description: "paused" } },
    });
    openapi.add({
      method: "post",
      path: "/v1/admin/queues/{queue}/resume",
      summary: "Resume a queue",
      tags: ["admin"],
      roles: ["admin"],
      params: queueParams,
      responses: { 200: { description: "resumed" } },
    });
    openapi.add({
      method: "get",
      path: "/v1/admin/streams",
      summary: "Every stream: length, groups, dead letters",
      tags: ["admin"],
      roles: ["admin"],
      responses: { 200: { description: "per stream" } },
    });
    openapi.add({
      method: "get",
      path: "/v1/admin/dlq/{stream}",
      summary: "Dead letters of a stream (`jobs:<queue>` for a queue), newest first",
      tags: ["admin"],
      roles: ["admin"],
      params: streamParams,
      query: limitQuery,
      responses: { 200: { description: "dead letters with reason and attempts" } },
    });
    openapi.add({
      method: "post",
      path: "/v1/admin/dlq/{stream}/replay",
      summary: "Replay dead letters (all, or `ids`)",
      tags: ["admin"],
      roles: ["admin"],
      params: streamParams,
      body: replayBody,
      responses: { 200: { description: "how many were replayed" } },
    });
    return app;
  };
}
