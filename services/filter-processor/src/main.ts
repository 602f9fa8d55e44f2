/** The filter-processor service: see docs/architecture.md. Starts alone with `bun services/filter-processor/src/main.ts`. */
import { createDb, migrate } from "@bump/db";
import { Delivery, deliveryKeys, RedisPresence } from "@bump/delivery";
import { createLogger, createOpsApp, onShutdown, Registry, redisConnectionOptions, serveHttp } from "@bump/service";
import { createRedis, redisAnswers } from "@bump/streams";
import type { EntitySink } from "./entity-sink.ts";
import { DeliveryEntitySink } from "./entity-sink-delivery.ts";
import { StreamEntitySink } from "./entity-sink-stream.ts";
import { loadEnv } from "./env.ts";
import { filterKeys } from "./keys.ts";
import { FilterProcessor } from "./processor.ts";
import { GridViewportIndex } from "./viewport-index-grid.ts";
import { RbushViewportIndex } from "./viewport-index-rbush.ts";

const env = loadEnv();
const instanceId = env.FILTER_INSTANCE_ID ?? String(env.FILTER_INSTANCE_INDEX);
const log = createLogger("filter-processor", env.LOG_LEVEL, { instance: instanceId });
const registry = new Registry();
const redis = createRedis(env.REDIS_URL, "commands", redisConnectionOptions(env, log));
redis.on("error", () => {});
await migrate(env.DATABASE_URL);
const database = createDb(env.DATABASE_URL);
const keys = filterKeys(env.BUS_NAMESPACE);
const dkeys = deliveryKeys(env.BUS_NAMESPACE);
const presence = new RedisPresence({ redis, keys: dkeys });
const sink: EntitySink =
  env.FILTER_SINK === "stream"
    ? new StreamEntitySink(redis, keys.frames.stream)
    : new DeliveryEntitySink(new Delivery({ redis, keys: dkeys, presence, registry, logger: log }));
const processor = new FilterProcessor({
  redis,
  db: database.db,
  keys,
  sink,
  instanceId,
  instances: env.FILTER_INSTANCES,
  instanceIndex: env.FILTER_INSTANCE_INDEX,
  index: env.FILTER_INDEX === "rbush" ? new RbushViewportIndex() : new GridViewportIndex(),
  maxFanout: env.FILTER_MAX_FANOUT,
  batchMs: env.FILTER_BATCH_MS,
  snapshotIntervalMs: env.FILTER_SNAPSHOT_INTERVAL_MS,
  snapshotMax: env.FILTER_SNAPSHOT_MAX,
  viewportTtlMs: env.FILTER_VIEWPORT_TTL_MS,
  presence: async (users) => new Set((await presence.lookup(users)).keys()),
  writeEntities: env.FILTER_WRITE_ENTITIES,
  registry,
  logger: log,
});
await processor.start();
const app = createOpsApp({
  registry,
  checks: {
    redis: () => redisAnswers(redis),
    postgres: async () => (await database.sql`select 1 as ok`).length === 1,
    consumers: () => processor.isRunning,
  },
});
const server = serveHttp(app, env.PORT, log);
// Steps run in reverse: stop serving, drain the consumers and flush, then close the connections.
onShutdown(log, [
  async () => void (await redis.quit().catch(() => redis.disconnect())),
  () => database.close(),
  () => processor.close(),
  () => server.stop(),
]);
