import { authEnv, commonEnv, parseEnv } from "@bump/service";
import { z } from "zod";

/** Environment of the websocket service. Every variable is documented in .env.example. */
export const envSchema = commonEnv.merge(authEnv).extend({
  /** HTTP port. Default 3001. */
  PORT: z.coerce.number().int().min(0).max(65535).default(3001),
});

export type Env = z.output<typeof envSchema>;

/** Reads and validates this process's environment; exits with a clear message when invalid. */
export function loadEnv(source: Record<string, string | undefined> = process.env): Env {
  return parseEnv(envSchema, source);
}
