import { z } from "zod";

/** The development HS256 secret used when `AUTH_SECRET` is unset outside production. */
export const devAuthSecret = "bump-realtime-development-secret-do-not-use-in-production";

/** Environment shared by every service; each service composes it into its own `src/env.ts`. */
export const commonEnv = z.object({
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  /** Redis connection URL (redis:// or rediss://). Default: the local development server. */
  REDIS_URL: z.string().url().default("redis://127.0.0.1:6379"),
  /**
   * `1` (or `true`) when REDIS_URL is one seed node of a Redis Cluster: every connection is a cluster client and
   * batches are split per slot. Also turned on by `?cluster=1` on REDIS_URL. Default off (one Redis server).
   */
  REDIS_CLUSTER: z
    .enum(["0", "1", "true", "false", ""])
    .default("0")
    .transform((v) => v === "1" || v === "true"),
  /** Minimum log level. Default `info`. */
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
  /** Path to a PEM CA file trusted for a `rediss://` REDIS_URL (private or self-signed CA). Default: system CAs. */
  REDIS_TLS_CA: z
    .string()
    .optional()
    .transform((v) => v || undefined),
  /** Skip verification of Redis's TLS certificate (development only). Default false. */
  REDIS_TLS_INSECURE: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true"),
});

/**
 * The Redis connection options every service passes to `createRedis`: cluster mode and the TLS trust from
 * `commonEnv`, and each distinct connection error (refused credentials, untrusted certificate, unreachable) logged once until reconnected.
 */
export function redisConnectionOptions(
  env: { REDIS_TLS_CA?: string | undefined; REDIS_TLS_INSECURE: boolean; REDIS_CLUSTER?: boolean | undefined },
  log: { error(msg: string, fields?: Record<string, unknown>): void },
): {
  tlsCaFile: string | undefined;
  tlsInsecure: boolean;
  cluster: true | undefined;
  onConnectionError: (error: Error) => void;
} {
  return {
    tlsCaFile: env.REDIS_TLS_CA,
    tlsInsecure: env.REDIS_TLS_INSECURE,
    // unset lets a `?cluster=1` on REDIS_URL decide
    cluster: env.REDIS_CLUSTER ? true : undefined,
    onConnectionError: (error) => log.error("redis connection error", { error }),
  };
}

/** Postgres connection URL; required by services that use the database. */
export const databaseEnv = z.object({
  DATABASE_URL: z.string().min(1).default("postgres://postgres@127.0.0.1:5432/postgres"),
});

/** HS256 signing key (>= 32 bytes); required in production. */
export const authEnv = z.object({ AUTH_SECRET: z.string().min(32).optional() });

/**
 * Parses `source` with `schema`, printing every problem and exiting 1 when the environment is invalid.
 * Only services' `env.ts` call this.
 */
export function parseEnv<S extends z.ZodType>(schema: S, source: Record<string, string | undefined>): z.output<S> {
  const parsed = schema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n");
    process.stderr.write(`invalid environment:\n${problems}\n`);
    process.exit(1);
  }
  return parsed.data;
}

/** Resolves the auth secret: required in production, else the dev secret with a loud warning. */
export function resolveAuthSecret(env: { NODE_ENV: string; AUTH_SECRET?: string | undefined }): string {
  if (env.AUTH_SECRET) return env.AUTH_SECRET;
  if (env.NODE_ENV === "production") {
    process.stderr.write("AUTH_SECRET is required when NODE_ENV=production\n");
    process.exit(1);
  }
  process.stderr.write(
    "WARNING: AUTH_SECRET is unset; using the fixed development secret. Never run like this in production.\n",
  );
  return devAuthSecret;
}
