/** The api service: see docs/architecture.md. Starts alone with `bun services/api/src/main.ts`. */
import { createDb, migrate } from "@bump/db";
import { createLogger, createOpsApp, onShutdown, Registry, serveHttp } from "@bump/service";
import { createRedis, redisAnswers } from "@bump/streams";
import { loadEnv } from "./env.ts";

const env = loadEnv();
const log = createLogger("api", env.LOG_LEVEL);
const registry = new Registry();
const redis = createRedis(env.REDIS_URL);
await migrate(env.DATABASE_URL);
const database = createDb(env.DATABASE_URL);
const app = createOpsApp({
  registry,
  checks: {
    redis: () => redisAnswers(redis),
    postgres: async () => (await database.sql`select 1 as ok`).length === 1,
  },
});
const server = serveHttp(app, env.PORT, log);
onShutdown(log, [() => database.close(), async () => void (await redis.quit()), () => server.stop()]);
