import { hostname } from "node:os";
import { authEnv, commonEnv, parseEnv } from "@bump/service";
import { z } from "zod";

const int = (d: number) => z.coerce.number().int().positive().default(d);

/** Environment of the websocket service. Every variable is documented in .env.example. */
export const envSchema = commonEnv.merge(authEnv).extend({
  /** HTTP port. Default 3001. */
  PORT: z.coerce.number().int().min(0).max(65535).default(3001),
  /** This gateway's id, unique among live gateways: it names its `deliver:{id}` stream. Default `<host>-<pid>`. */
  GATEWAY_ID: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .default(
      `${hostname()
        .replace(/[^A-Za-z0-9_.-]/g, "-")
        .slice(0, 40)}-${process.pid}`,
    ),
  /** Prefix of every stream and delivery key (tests isolate themselves with it). Default empty. */
  BUS_NAMESPACE: z
    .string()
    .regex(/^[A-Za-z0-9_.-]*$/)
    .default(""),
  /** Partitions of the `locations` stream, as the api and bump-detectors run them. Default 1. */
  BUMP_PARTITIONS: z.coerce.number().int().min(1).max(1_024).default(1),
  /** Authenticated sockets one user may hold on one gateway; one more is closed with 4029. Default 10. */
  WS_MAX_CONNECTIONS_PER_USER: int(10),
  /** Inbound frames per second per socket (token bucket rate). Default 20. */
  WS_RATE_PER_S: int(20),
  /** Inbound burst per socket (token bucket size). Default 50. */
  WS_RATE_BURST: int(50),
  /** Refused (rate-limited) frames in a row before the socket is closed with 4029. Default 20. */
  WS_RATE_STRIKES: int(20),
  /** Frames wait in the outbox while the socket buffers more than this, bytes. Default 65536. */
  WS_OUTBOX_HIGH_WATER: int(65_536),
  /** Outbox limit, bytes: volatile frames are dropped, then the socket is closed with 4008. Default 1048576. */
  WS_OUTBOX_MAX_BYTES: int(1_048_576),
  /** Interval at which clients should ping, announced in `welcome`, ms. Default 25000. */
  WS_HEARTBEAT_MS: int(25_000),
  /** A socket silent this long (no frame, no pong to the server's ping) is closed, seconds. Default 60. */
  WS_IDLE_TIMEOUT_S: int(60),
  /** Time allowed for the `auth` frame when the URL had no token, ms. Default 5000. */
  WS_AUTH_TIMEOUT_MS: int(5_000),
  /** Reliable frames kept per user for resume. Default 300. */
  DELIVERY_HISTORY_MAX_LEN: int(300),
  /** Age of the oldest reliable frame kept for resume, ms. Default 600000 (10 min). */
  DELIVERY_HISTORY_WINDOW_MS: int(600_000),
  /** How often each connected user's sequence head is compared with what its sockets got, ms. Default 5000. */
  DELIVERY_HEAD_CHECK_MS: int(5_000),
  /** Presence registration lifetime; refreshed every third of it, ms. Default 30000. */
  PRESENCE_TTL_MS: int(30_000),
  /** Run the `bump-delivery` consumer (bumps -> reliable frames) in this process. Default true. */
  WS_BUMP_DELIVERY: z
    .enum(["true", "false"])
    .default("true")
    .transform((v) => v === "true"),
});

export type Env = z.output<typeof envSchema>;

/** Reads and validates this process's environment; exits with a clear message when invalid. */
export function loadEnv(source: Record<string, string | undefined> = process.env): Env {
  return parseEnv(envSchema, source);
}
