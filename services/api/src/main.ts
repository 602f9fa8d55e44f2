/** The api service: see docs/architecture.md. Starts alone with `bun services/api/src/main.ts`. */
import { createJwt } from "@bump/auth";
import { entityEvent, type LocationEvent, locationEvent } from "@bump/contracts";
import { createDb, migrate } from "@bump/db";
import {
  createLogger,
  onShutdown,
  Registry,
  redisConnectionOptions,
  resolveAuthSecret,
  serveHttp,
} from "@bump/service";
import {
  createRedis,
  OverloadMonitor,
  Producer,
  partitionedStreamKeys,
  redisAnswers,
  streamKeys,
  streamNames,
} from "@bump/streams";
import { createApp, routesFor } from "./app.ts";
import { loadEnv } from "./env.ts";

const env = loadEnv();
const log = createLogger("api", env.LOG_LEVEL);
const registry = new Registry();
const redisOptions = redisConnectionOptions(env, log);
const redis = createRedis(env.REDIS_URL, "commands", redisOptions);
// Fail-fast connection for writes: while Redis is unreachable a write fails at once (503), never queues.
const producerRedis = createRedis(env.REDIS_URL, "producer", {
  ...redisOptions,
  commandTimeout: env.REDIS_WRITE_TIMEOUT_MS,
});
producerRedis.on("error", () => {});
redis.on("error", () => {});
await migrate(env.DATABASE_URL);
const database = createDb(env.DATABASE_URL);
const ns = env.BUS_NAMESPACE || undefined;
// One stream `{locations}` with one partition; `{locations:0..P-1}` (as the bump-detectors read them) above.
const locationKeys = partitionedStreamKeys(streamNames.locations, { ns, partitions: env.BUMP_PARTITIONS });
const overload = new OverloadMonitor(
  producerRedis,
  locationKeys.map((k) => k.stream),
  { maxBacklog: env.INGEST_MAX_BACKLOG },
);
await overload.start();
const locationPartitions = locationKeys.map(
  (keys) =>
    new Producer({
      redis: producerRedis,
      keys,
      schema: locationEvent,
      maxLen: env.INGEST_MAX_LEN,
      overload,
      dedupeWindowSeconds: env.INGEST_IDEMPOTENCY_WINDOW_S,
    }),
);
const entities = new Producer({
  redis: producerRedis,
  keys: streamKeys(streamNames.entities, { ns }),
  schema: entityEvent,
});
const app = createApp(
  {
    jwt: createJwt(resolveAuthSecret(env)),
    db: database.db,
    redis,
    locations: locationPartitions[0] as Producer<LocationEvent>,
    locationPartitions,
    entities,
    registry,
    logger: log,
    readiness: {
      redis: () => redisAnswers(redis),
      postgres: async () => (await database.sql`select 1 as ok`).length === 1,
    },
  },
  { routes: routesFor(env.BUS_NAMESPACE, { partitions: env.BUMP_PARTITIONS }) },
);
const server = serveHttp(app, env.PORT, log);
onShutdown(log, [
  () => database.close(),
  async () => void (await redis.quit().catch(() => redis.disconnect())),
  () => producerRedis.disconnect(),
  () => overload.stop(),
  () => server.stop(),
]);
