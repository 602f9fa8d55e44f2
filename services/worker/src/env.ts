import { authEnv, commonEnv, databaseEnv, parseEnv } from "@bump/service";
import { z } from "zod";

/** Environment of the worker service. Every variable is documented in .env.example. */
export const envSchema = commonEnv
  .merge(databaseEnv)
  .merge(authEnv)
  .extend({
    /** HTTP port. Default 3004. */
    PORT: z.coerce.number().int().min(0).max(65535).default(3004),
    /** Prefix of every stream and key the worker's writers and delivery build (as the other services). Default empty. */
    BUS_NAMESPACE: z
      .string()
      .regex(/^[A-Za-z0-9_.-]*$/)
      .default(""),
    /** Partitions of the `locations` stream, as the api and bump-detectors run them. Default 1. */
    BUMP_PARTITIONS: z.coerce.number().int().min(1).max(1_024).default(1),
    /** Fixes per read and per INSERT of the location history writer. Default 1000. */
    HISTORY_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(1000),
    /** Bumps per read and per INSERT of the bumps writer. Default 500. */
    BUMPS_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(500),
    /** Attempts before an entry Postgres refuses (not an outage: those wait) is dead-lettered. Default 25. */
    PERSISTENCE_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(25),
    /** Groups with at most this many members are fanned out inline; larger ones through `fanout` jobs. Default 50. */
    GROUP_INLINE_MAX: z.coerce.number().int().min(1).max(10_000).default(50),
    /** Back-to-back messages of one sender at most this far apart form a burst (one frame), ms. Default 5000. */
    GROUP_BURST_MS: z.coerce.number().int().min(0).default(5000),
    /** Members per chunk of a `fanout` job. Default 1000. */
    GROUP_FANOUT_CHUNK: z.coerce.number().int().min(1).max(10_000).default(1000),
  });

export type Env = z.output<typeof envSchema>;

/** Reads and validates this process's environment; exits with a clear message when invalid. */
export function loadEnv(source: Record<string, string | undefined> = process.env): Env {
  return parseEnv(envSchema, source);
}
