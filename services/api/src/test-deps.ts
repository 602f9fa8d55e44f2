/** Builds the API's dependencies against a real Redis and a fresh database, for tests and benchmarks. */
import { createJwt, type Jwt } from "@bump/auth";
import { entityEvent, type LocationEvent, locationEvent } from "@bump/contracts";
import { createDb, migrate } from "@bump/db";
import { Registry, silentLogger } from "@bump/service";
import type { RedisClient as Redis } from "@bump/streams";
import { createRedis, OverloadMonitor, Producer, type StreamKeys, streamKeys, streamNames } from "@bump/streams";
import { createTestDatabase, uniquePrefix } from "@bump/testing";
import type { AppDeps } from "./deps.ts";

/** The secret test tokens are signed with. */
export const testSecret = "test-secret-test-secret-test-secret-0123456789";

/** A wired set of dependencies plus handles to inspect and clean up. */
export interface TestDeps {
  deps: AppDeps;
  jwt: Jwt;
  keys: StreamKeys;
  /** Keys of the test's `entities` stream. */
  entityKeys: StreamKeys;
  /** The database the deps use. */
  databaseUrl: string;
  /** A plain commands connection to the same Redis. */
  redis: Redis;
  overload: OverloadMonitor;
  /** Entries now on the test's `locations` stream, parsed. */
  entries(): Promise<LocationEvent[]>;
  close(): Promise<void>;
}

/** Options of {@link createTestDeps}. */
export interface TestDepsOptions {
  redisUrl: string;
  /** Default: a fresh test database. */
  databaseUrl?: string;
  maxBacklog?: number;
  /** Default true: also create a fresh database (the bumps route needs it). */
  database?: boolean;
}

/** Wires the API's dependencies on a unique stream namespace. */
export async function createTestDeps(opts: TestDepsOptions): Promise<TestDeps> {
  const testDb = opts.database === false || opts.databaseUrl ? undefined : await createTestDatabase();
  const url = opts.databaseUrl ?? testDb?.url ?? "postgres://127.0.0.1:1/none";
  if (testDb) await migrate(url);
  const database = createDb(url);
  const redis = createRedis(opts.redisUrl);
  const producerRedis = createRedis(opts.redisUrl, "producer", { commandTimeout: 2_000 });
  producerRedis.on("error", () => {});
  redis.on("error", () => {});
  if (producerRedis.status !== "ready") await new Promise((resolve) => producerRedis.once("ready", resolve));
  const keys = streamKeys(streamNames.locations, { ns: uniquePrefix("api") });
  const overload = new OverloadMonitor(producerRedis, [keys.stream], { maxBacklog: opts.maxBacklog ?? 100_000 });
  await overload.start();
  const jwt = createJwt(testSecret);
  const locations = new Producer({ redis: producerRedis, keys, schema: locationEvent, overload });
  const entityKeys = streamKeys(streamNames.entities, { ns: uniquePrefix("api") });
  const entities = new Producer({ redis: producerRedis, keys: entityKeys, schema: entityEvent });
  const deps: AppDeps = {
    jwt,
    db: database.db,
    redis,
    locations,
    entities,
    registry: new Registry(),
    logger: silentLogger,
    readiness: {},
  };
  return {
    deps,
    jwt,
    keys,
    entityKeys,
    databaseUrl: url,
    redis,
    overload,
    entries: async () => {
      const rows = (await redis.xrange(keys.stream, "-", "+")) as [string, string[]][];
      // an entry holds one fix or an array of them
      return rows.flatMap(([, fields]) => [JSON.parse(fields[1] as string) as LocationEvent | LocationEvent[]].flat());
    },
    close: async () => {
      overload.stop();
      await redis.del(keys.stream).catch(() => {});
      await redis.del(entityKeys.stream).catch(() => {});
      redis.disconnect();
      producerRedis.disconnect();
      await database.close();
      await testDb?.close();
    },
  };
}
