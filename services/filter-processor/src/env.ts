import { authEnv, commonEnv, databaseEnv, parseEnv } from "@bump/service";
import { z } from "zod";

const int = (d: number) => z.coerce.number().int().positive().default(d);

/** Environment of the filter-processor service. Every variable is documented in .env.example. */
export const envSchema = commonEnv
  .merge(authEnv)
  .merge(databaseEnv)
  .extend({
    /** HTTP port. Default 3002. */
    PORT: z.coerce.number().int().min(0).max(65535).default(3002),
    /** Prefix of every stream and key (tests isolate themselves with it). Default empty. */
    BUS_NAMESPACE: z
      .string()
      .regex(/^[A-Za-z0-9_.-]*$/)
      .default(""),
    /** Instances sharing the viewports, partitioned by user hash. Default 1. */
    FILTER_INSTANCES: int(1),
    /** This instance's partition, 0..FILTER_INSTANCES-1. Default 0. */
    FILTER_INSTANCE_INDEX: z.coerce.number().int().min(0).default(0),
    /** Stable id naming this instance's consumer groups `filter-<id>`. Default the instance index. */
    FILTER_INSTANCE_ID: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/)
      .optional(),
    /** Most users one entity change is delivered to; more are cut and counted. Default 10000. */
    FILTER_MAX_FANOUT: int(10_000),
    /** Per-user batching window, ms: at most one entity flush per user per window (leading edge). Default 50. */
    FILTER_BATCH_MS: int(50),
    /** At most one full `entities` snapshot per user per this many ms. Default 5000. */
    FILTER_SNAPSHOT_INTERVAL_MS: int(5_000),
    /** Most entities in one snapshot. Default 500. */
    FILTER_SNAPSHOT_MAX: int(500),
    /** A viewport lives this long after its last event unless its user is still connected, ms. Default 300000. */
    FILTER_VIEWPORT_TTL_MS: int(300_000),
    /** Viewport index: `grid` (uniform degree grid) or `rbush` (R-tree). Default grid. */
    FILTER_INDEX: z.enum(["grid", "rbush"]).default("grid"),
    /** Where frames go: `delivery` (to the users' gateways) or `stream` (the `entity-frames` stream). Default delivery. */
    FILTER_SINK: z.enum(["delivery", "stream"]).default("delivery"),
    /** Run the `entity-writer` group (entity changes to Postgres) in this instance. Default true. */
    FILTER_WRITE_ENTITIES: z
      .enum(["true", "false"])
      .default("true")
      .transform((v) => v === "true"),
  })
  .refine((e) => e.FILTER_INSTANCE_INDEX < e.FILTER_INSTANCES, {
    error: "FILTER_INSTANCE_INDEX must be below FILTER_INSTANCES",
    path: ["FILTER_INSTANCE_INDEX"],
  });

export type Env = z.output<typeof envSchema>;

/** Reads and validates this process's environment; exits with a clear message when invalid. */
export function loadEnv(source: Record<string, string | undefined> = process.env): Env {
  return parseEnv(envSchema, source);
}
