/** The worker service: see docs/architecture.md. Starts alone with `bun services/worker/src/main.ts`. */
import { createDb, migrate } from "@bump/db";
import { Delivery, deliveryKeys, RedisPresence } from "@bump/delivery";
import { createLogger, createOpsApp, onShutdown, Registry, redisConnectionOptions, serveHttp } from "@bump/service";
import { createRedis, redisAnswers } from "@bump/streams";
import { loadEnv } from "./env.ts";
import { startGroupFanout } from "./groups/index.ts";
import { type Persistence, type PersistenceDeps, startBumpsWriter, startHistoryWriter } from "./persistence/index.ts";
import { startQueues } from "./queues/index.ts";

const env = loadEnv();
const log = createLogger("worker", env.LOG_LEVEL);
const registry = new Registry();
const redis = createRedis(env.REDIS_URL, "commands", redisConnectionOptions(env, log));
redis.on("error", () => {});
await migrate(env.DATABASE_URL);
const database = createDb(env.DATABASE_URL);

const ns = env.BUS_NAMESPACE || undefined;
const persistenceDeps: PersistenceDeps & { db: typeof database.db } = {
  redis,
  ns,
  db: database.db,
  probe: () => database.sql`select 1`,
  registry,
  logger: log,
  maxAttempts: env.PERSISTENCE_MAX_ATTEMPTS,
};
/** Every consumer this process runs; `/ready` requires all of them running. */
const consumers: Persistence[] = [
  await startHistoryWriter({ ...persistenceDeps, batchSize: env.HISTORY_BATCH_SIZE, partitions: env.BUMP_PARTITIONS }),
  await startBumpsWriter({ ...persistenceDeps, batchSize: env.BUMPS_BATCH_SIZE }),
];
const dk = deliveryKeys(env.BUS_NAMESPACE);
const delivery = new Delivery({
  redis,
  keys: dk,
  presence: new RedisPresence({ redis, keys: dk }),
  registry,
  logger: log,
});
const queues = await startQueues({ redis, sql: database.sql, delivery, ns, registry, logger: log });
const groups = await startGroupFanout({
  redis,
  ns,
  db: database.db,
  delivery,
  inlineMax: env.GROUP_INLINE_MAX,
  burst: { burstMs: env.GROUP_BURST_MS },
  chunk: env.GROUP_FANOUT_CHUNK,
  registry,
  logger: log,
});

const app = createOpsApp({
  registry,
  checks: {
    redis: () => redisAnswers(redis),
    postgres: async () => (await database.sql`select 1 as ok`).length === 1,
    consumers: () => consumers.every((c) => c.isRunning()),
    queues: () => queues.ready(),
    groups: () => groups.isRunning(),
  },
});
const server = serveHttp(app, env.PORT, log);
onShutdown(log, [
  () => database.close(),
  async () => void (await redis.quit().catch(() => redis.disconnect())),
  async () => void (await Promise.all(consumers.map((c) => c.close()))),
  () => queues.close(8_000),
  () => groups.close(),
  () => server.stop(),
]);
