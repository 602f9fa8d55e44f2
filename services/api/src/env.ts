import { authEnv, commonEnv, databaseEnv, parseEnv } from "@bump/service";
import { z } from "zod";

/** Environment of the api service. Every variable is documented in .env.example. */
export const envSchema = commonEnv
  .merge(databaseEnv)
  .merge(authEnv)
  .extend({
    /** HTTP port. Default 3000. */
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    /** Prefix of every stream and key the api builds (tests isolate themselves with it). Default empty. */
    BUS_NAMESPACE: z
      .string()
      .regex(/^[A-Za-z0-9_.-]*$/)
      .default(""),
    /**
     * Partitions of the `locations` stream, as the bump-detectors run them. Above 1 each fix is appended to every
     * partition `partitionsFor` names (`{locations:<p>}`); 1 keeps the single `{locations}` stream. Default 1.
     */
    BUMP_PARTITIONS: z.coerce.number().int().min(1).max(1_024).default(1),
    /**
     * Backlog (lag + pending of the slowest group) of `locations`, in fixes, past which writes answer 503 (entries
     * weighed by the fixes this api lately put in each). Default 100000.
     */
    INGEST_MAX_BACKLOG: z.coerce.number().int().positive().default(100_000),
    /** Approximate hard cap of the `locations` stream (XADD MAXLEN ~). Default 1000000. */
    INGEST_MAX_LEN: z.coerce.number().int().positive().default(1_000_000),
    /** How long a client `id` makes a retried location POST idempotent, seconds. Default 86400 (24 h). */
    INGEST_IDEMPOTENCY_WINDOW_S: z.coerce.number().int().positive().default(86_400),
    /** A write to Redis not answered within this many ms fails the request with 503. Default 2000. */
    REDIS_WRITE_TIMEOUT_MS: z.coerce.number().int().positive().default(2_000),
  });

export type Env = z.output<typeof envSchema>;

/** Reads and validates this process's environment; exits with a clear message when invalid. */
export function loadEnv(source: Record<string, string | undefined> = process.env): Env {
  return parseEnv(envSchema, source);
}
