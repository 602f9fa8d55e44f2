/** The bump-detector service: see docs/architecture.md. Starts alone with `bun services/bump-detector/src/main.ts`. */
import { createLogger, createOpsApp, onShutdown, Registry, serveHttp } from "@bump/service";
import { createRedis, redisAnswers } from "@bump/streams";
import { loadEnv } from "./env.ts";

const env = loadEnv();
const log = createLogger("bump-detector", env.LOG_LEVEL);
const registry = new Registry();
const redis = createRedis(env.REDIS_URL);
const app = createOpsApp({ registry, checks: { redis: () => redisAnswers(redis) } });
const server = serveHttp(app, env.PORT, log);
onShutdown(log, [async () => void (await redis.quit()), () => server.stop()]);
