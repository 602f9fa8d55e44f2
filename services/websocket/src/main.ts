/** The websocket service: see docs/architecture.md. Starts alone with `bun services/websocket/src/main.ts`. */
import { createJwt } from "@bump/auth";
import { type LocationEvent, locationEvent, viewportEvent } from "@bump/contracts";
import { Delivery, deliveryKeys, HistoryReader, RedisPresence, startBumpDelivery } from "@bump/delivery";
import {
  createLogger,
  createOpsApp,
  onShutdown,
  Registry,
  redisConnectionOptions,
  resolveAuthSecret,
} from "@bump/service";
import { createRedis, Producer, partitionedStreamKeys, redisAnswers, streamKeys, streamNames } from "@bump/streams";
import { Dispatcher } from "./dispatcher.ts";
import { loadEnv } from "./env.ts";
import { Gateway } from "./gateway.ts";
import { gatewayMetrics } from "./metrics.ts";

const env = loadEnv();
const log = createLogger("websocket", env.LOG_LEVEL, { gateway: env.GATEWAY_ID });
const registry = new Registry();
const metrics = gatewayMetrics(registry);
const redisOptions = redisConnectionOptions(env, log);
const redis = createRedis(env.REDIS_URL, "commands", redisOptions);
const blocking = createRedis(env.REDIS_URL, "blocking", redisOptions);
const producer = createRedis(env.REDIS_URL, "producer", redisOptions);
const ns = env.BUS_NAMESPACE;
const keys = deliveryKeys(ns);
const window = { maxLen: env.DELIVERY_HISTORY_MAX_LEN, windowMs: env.DELIVERY_HISTORY_WINDOW_MS };
const presence = new RedisPresence({ redis, keys, ttlMs: env.PRESENCE_TTL_MS });
const history = new HistoryReader(redis, keys, window);
const dispatcher = new Dispatcher({
  gatewayId: env.GATEWAY_ID,
  redis,
  blocking,
  keys,
  history,
  presence,
  presenceTtlMs: env.PRESENCE_TTL_MS,
  headCheckMs: env.DELIVERY_HEAD_CHECK_MS,
  metrics,
  log,
});
const streamOpts = ns ? { ns } : {};
// One stream `{locations}`; `{locations:0..P-1}` (as the bump-detectors read them) with BUMP_PARTITIONS above 1.
const locationPartitions = partitionedStreamKeys(streamNames.locations, {
  ...streamOpts,
  partitions: env.BUMP_PARTITIONS,
}).map((keys) => new Producer({ redis: producer, keys, schema: locationEvent }));
const sinks = {
  locations: locationPartitions[0] as Producer<LocationEvent>,
  locationPartitions,
  viewports: new Producer({
    redis: producer,
    keys: streamKeys(streamNames.viewports, streamOpts),
    schema: viewportEvent,
  }),
};
await dispatcher.start();
const bumps = env.WS_BUMP_DELIVERY
  ? await startBumpDelivery({
      redis,
      delivery: new Delivery({ redis, keys, presence, ...window, registry, logger: log }),
      ...(ns ? { ns } : {}),
      registry,
      logger: log,
    })
  : undefined;
registry.addCollector(() => {
  let total = 0;
  let max = 0;
  for (const s of dispatcher.sessions()) {
    total += s.outbox.waitingBytes;
    max = Math.max(max, s.outbox.waitingBytes);
  }
  metrics.buffered.set([], total);
  metrics.outboxMax.set([], max);
});
const ops = createOpsApp({
  registry,
  checks: { redis: () => redisAnswers(redis), ...(bumps ? { bumps: () => bumps.isRunning } : {}) },
});
const gateway = new Gateway({
  jwt: createJwt(resolveAuthSecret(env)),
  dispatcher,
  sinks,
  metrics,
  log,
  ops,
  limits: {
    maxConnectionsPerUser: env.WS_MAX_CONNECTIONS_PER_USER,
    ratePerS: env.WS_RATE_PER_S,
    rateBurst: env.WS_RATE_BURST,
    rateStrikes: env.WS_RATE_STRIKES,
    heartbeatMs: env.WS_HEARTBEAT_MS,
    idleTimeoutS: env.WS_IDLE_TIMEOUT_S,
    authTimeoutMs: env.WS_AUTH_TIMEOUT_MS,
    highWaterBytes: env.WS_OUTBOX_HIGH_WATER,
    maxBytes: env.WS_OUTBOX_MAX_BYTES,
  },
});
const port = gateway.listen(env.PORT);
log.info("listening", { url: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}/ws` });
onShutdown(log, [
  async () => void (await redis.quit()),
  async () => void producer.disconnect(),
  () => dispatcher.close(),
  async () => bumps?.close(),
  () => gateway.stop(),
]);
