/**
 * The whole system on one machine for chaos runs and the dashboard screenshot: a redis-server with AOF
 * (appendfsync always, so it can be killed and restarted), a fresh database, and the five services as processes
 * that can each be killed with SIGKILL and started again with the same environment.
 */
import {
  createTestDatabase,
  freePort,
  type RedisServer,
  type ServiceProcess,
  spawnService,
  startRedisServer,
  type TestDatabase,
  waitFor,
} from "@bump/testing";

/** The five deployables. */
export const serviceNames = ["api", "websocket", "filter-processor", "bump-detector", "worker"] as const;
/** One of {@link serviceNames}. */
export type ServiceName = (typeof serviceNames)[number];

/** The signing secret of every service of a stack. */
export const stackSecret = "chaos-stack-secret-chaos-stack-secret-0123456789";

/** A running stack. */
export interface Stack {
  readonly redis: RedisServer;
  readonly database: TestDatabase;
  /** Each service's HTTP port. */
  readonly ports: Readonly<Record<ServiceName, number>>;
  /** `http://127.0.0.1:<port>` of a service. */
  url(name: ServiceName): string;
  /** The process of a service (the latest one after restarts). */
  process(name: ServiceName): ServiceProcess;
  /** SIGKILL: no shutdown step of the service runs. */
  kill9(name: ServiceName): Promise<void>;
  /** Starts a service again with exactly the environment it had. */
  start(name: ServiceName): void;
  /** Waits until the service answers `/ready` 200; throws with its recent output otherwise. */
  waitReady(name: ServiceName, timeoutMs?: number): Promise<void>;
  /** Stops every service (SIGKILL), Redis and the database. */
  stop(): Promise<void>;
}

/** Options of {@link startStack}. */
export interface StackOptions {
  /** Extra environment of every service (e.g. `LOG_LEVEL`). */
  env?: Record<string, string>;
}

async function ready(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/ready`, { signal: AbortSignal.timeout(2_000) })).status === 200;
  } catch {
    return false;
  }
}

/** Starts Redis, a database and the five services, and waits until every service is `/ready`. */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const redis = await startRedisServer();
  const database = await createTestDatabase();
  const ports = {} as Record<ServiceName, number>;
  for (const name of serviceNames) ports[name] = await freePort();
  const envOf = (name: ServiceName): Record<string, string> => ({
    REDIS_URL: redis.url,
    DATABASE_URL: database.url,
    AUTH_SECRET: stackSecret,
    NODE_ENV: "test",
    LOG_LEVEL: "warn",
    PORT: String(ports[name]),
    // Stable identities, so that a restarted process takes over its own consumers and delivery stream.
    GATEWAY_ID: "gw-1",
    FILTER_INSTANCE_ID: "f-1",
    ...opts.env,
  });
  const procs = new Map<ServiceName, ServiceProcess>();
  const url = (name: ServiceName) => `http://127.0.0.1:${ports[name]}`;
  const start = (name: ServiceName) => {
    procs.set(name, spawnService(`services/${name}/src/main.ts`, envOf(name)));
  };
  const proc = (name: ServiceName) => {
    const p = procs.get(name);
    if (!p) throw new Error(`${name} was never started`);
    return p;
  };
  const stack: Stack = {
    redis,
    database,
    ports,
    url,
    process: proc,
    start,
    kill9: (name) => proc(name).kill9(),
    waitReady: async (name, timeoutMs = 60_000) => {
      try {
        await waitFor(() => ready(url(name)), { timeoutMs, what: `${name} /ready` });
      } catch (err) {
        throw new Error(`${name} is not ready:\n${proc(name).output().slice(-3_000)}`, { cause: err });
      }
    },
    stop: async () => {
      await Promise.all([...procs.values()].map((p) => p.kill9().catch(() => {})));
      await redis.stop();
      await database.close();
    },
  };
  // The api migrates the database; the others wait for it to exist.
  start("api");
  try {
    await stack.waitReady("api", 90_000);
    for (const name of serviceNames) if (name !== "api") start(name);
    for (const name of serviceNames) await stack.waitReady(name, 90_000);
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return stack;
}
