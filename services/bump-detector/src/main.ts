/** The bump-detector service: see docs/architecture.md. Starts alone with `bun services/bump-detector/src/main.ts`. */
import { createLogger, createOpsApp, onShutdown, Registry, redisConnectionOptions, serveHttp } from "@bump/service";
import { createRedis, redisAnswers } from "@bump/streams";
import { loadEnv } from "./env.ts";
import { detectorKeys } from "./keys.ts";
import { BumpDetectorService } from "./service.ts";

const env = loadEnv();
const log = createLogger("bump-detector", env.LOG_LEVEL, { partition: env.BUMP_PARTITION });
if (env.BUMP_PARTITION >= env.BUMP_PARTITIONS) {
  log.error("BUMP_PARTITION must be below BUMP_PARTITIONS");
  process.exit(1);
}
const registry = new Registry();
const redis = createRedis(env.REDIS_URL, "commands", redisConnectionOptions(env, log));
const keys = detectorKeys({ ns: env.BUS_NAMESPACE, partitions: env.BUMP_PARTITIONS, partition: env.BUMP_PARTITION });
const detector = new BumpDetectorService({
  redis,
  keys,
  rules: {
    radiusM: env.BUMP_RADIUS_M,
    windowMs: env.BUMP_WINDOW_MS,
    maxAccuracyM: env.BUMP_MAX_ACCURACY_M,
    cooldownMs: env.BUMP_COOLDOWN_MS,
  },
  index: env.BUMP_INDEX,
  batchSize: env.BUMP_BATCH_SIZE,
  registry,
  logger: log,
});
const app = createOpsApp({
  registry,
  checks: { redis: () => redisAnswers(redis), consumer: () => detector.ready },
});
const server = serveHttp(app, env.PORT, log);
onShutdown(log, [async () => void (await redis.quit()), () => server.stop(), () => detector.close()]);
await detector.start();
log.info("consuming", { stream: keys.locations.stream });
