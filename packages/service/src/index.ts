/**
 * Service kit: structured logging, Prometheus metrics, the `/health` `/ready` `/metrics` endpoints, environment
 * parsing and graceful shutdown shared by every service.
 */
export {
  authEnv,
  commonEnv,
  databaseEnv,
  devAuthSecret,
  parseEnv,
  redisConnectionOptions,
  resolveAuthSecret,
} from "./env.ts";
export { serveHttp } from "./http.ts";
export { onShutdown, type StopStep } from "./lifecycle.ts";
export { createLogger, type LogFields, type Logger, type LogLevel, silentLogger } from "./logger.ts";
export {
  type Collector,
  Counter,
  type CounterSeries,
  Gauge,
  Histogram,
  type HistogramSeries,
  latencyBuckets,
  Registry,
} from "./metrics.ts";
export { createOpsApp, type OpsOptions, type ReadinessCheck } from "./ops.ts";
