import { authEnv, commonEnv, databaseEnv, parseEnv } from "@bump/service";
import { z } from "zod";

/** Environment of the api service. Every variable is documented in .env.example. */
export const envSchema = commonEnv
  .merge(databaseEnv)
  .merge(authEnv)
  .extend({
    /** HTTP port. Default 3000. */
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  });

export type Env = z.output<typeof envSchema>;

/** Reads and validates this process's environment; exits with a clear message when invalid. */
export function loadEnv(source: Record<string, string | undefined> = process.env): Env {
  return parseEnv(envSchema, source);
}
