import { latitude, longitude, userId } from "@bump/contracts";
import { z } from "zod";
import type { QueueSpec } from "./definition.ts";

/** A bounding box in degrees; `west > east` crosses the antimeridian. */
export const boxSchema = z.strictObject({ north: latitude, south: latitude, east: longitude, west: longitude });

/**
 * `broadcast`: one reliable frame (a JSON object with a `type`, without `offset`) to a list of users, or to
 * everyone whose last known location lies inside `box`.
 */
export const broadcastData = z.union([
  z.strictObject({ frame: z.looseObject({ type: z.string().min(1) }), users: z.array(userId).min(1).max(10_000) }),
  z.strictObject({ frame: z.looseObject({ type: z.string().min(1) }), box: boxSchema }),
]);

/** `export`: the owner's location history as NDJSON, optionally limited to a time range (ISO 8601). */
export const exportData = z.strictObject({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});

/** `cleanup`: scheduled maintenance; `period` names the slot it runs for. */
export const cleanupData = z.strictObject({ period: z.int().nonnegative() });

const hour = 3_600_000;

/** The product's built-in queues, shared by the worker (which adds handlers) and the API (which enqueues). */
export const catalog = {
  broadcast: {
    name: "broadcast",
    schema: broadcastData,
    concurrency: 4,
    attempts: 5,
    backoff: { type: "exponential", delayMs: 2_000, jitter: 0.2 },
    timeoutMs: 300_000,
    retention: { completed: { count: 1_000, ageMs: 24 * hour }, failed: { count: 5_000, ageMs: 7 * 24 * hour } },
  },
  export: {
    name: "export",
    schema: exportData,
    concurrency: 2,
    attempts: 3,
    backoff: { type: "exponential", delayMs: 5_000, jitter: 0.2 },
    timeoutMs: 300_000,
    retention: { completed: { count: 1_000, ageMs: 24 * hour }, failed: { count: 1_000, ageMs: 7 * 24 * hour } },
  },
  cleanup: {
    name: "cleanup",
    schema: cleanupData,
    concurrency: 1,
    attempts: 2,
    backoff: { type: "fixed", delayMs: 10_000, jitter: 0.2 },
    timeoutMs: 600_000,
    retention: { completed: { count: 100, ageMs: 7 * 24 * hour }, failed: { count: 100, ageMs: 7 * 24 * hour } },
  },
} as const satisfies Record<string, QueueSpec>;

/** Queues a client may enqueue through `POST /v1/jobs` (`cleanup` is internal). */
export const publicQueues = ["broadcast", "export"] as const;
