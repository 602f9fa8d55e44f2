import { authEnv, commonEnv, parseEnv } from "@bump/service";
import { z } from "zod";

/** Environment of the bump-detector service. Every variable is documented in .env.example. */
export const envSchema = commonEnv.merge(authEnv).extend({
  /** HTTP port. Default 3003. */
  PORT: z.coerce.number().int().min(0).max(65535).default(3003),
  /** Prefix of every stream and key (tests isolate themselves with it). Default empty. */
  BUS_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9_.-]*$/)
    .default(""),
  /** Largest distance of a bump, metres. Default 30 (at most 30 with the h3 index). */
  BUMP_RADIUS_M: z.coerce.number().positive().max(1_000).default(30),
  /** Largest time difference of a bump's two fixes, ms; also how long a fix stays live. Default 30,000. */
  BUMP_WINDOW_MS: z.coerce.number().int().positive().default(30_000),
  /** Fixes with a worse accuracy (metres) never bump. Default 100. */
  BUMP_MAX_ACCURACY_M: z.coerce.number().nonnegative().default(100),
  /** A pair bumps at most once per this many ms. Default 3,600,000 (1 h). */
  BUMP_COOLDOWN_MS: z.coerce.number().int().positive().default(3_600_000),
  /** Proximity index: `grid` (metric grid, the faster) or `h3` (H3 res 10 with a 1-ring). Default grid. */
  BUMP_INDEX: z.enum(["grid", "h3"]).default("grid"),
  /** Number of partitions of the locations stream. Default 1 (one unpartitioned stream). */
  BUMP_PARTITIONS: z.coerce.number().int().min(1).max(1_024).default(1),
  /** The partition this process owns, 0..BUMP_PARTITIONS-1. Default 0. */
  BUMP_PARTITION: z.coerce.number().int().min(0).default(0),
  /**
   * Most entries per read from the stream (an entry holds one fix or up to 200); reads are sized to about 2,000 fixes
   * at the size of the last batch's entries, at most this many. Default 250.
   */
  BUMP_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(250),
});

export type Env = z.output<typeof envSchema>;

/** Reads and validates this process's environment; exits with a clear message when invalid. */
export function loadEnv(source: Record<string, string | undefined> = process.env): Env {
  return parseEnv(envSchema, source);
}
