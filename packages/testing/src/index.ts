/**
 * Test helpers: a throwaway redis-server per test process (unless `REDIS_URL` is set), a throwaway 3-master Redis
 * Cluster, unique key prefixes, a fresh database per test file (Postgres when `TEST_DATABASE_URL` is set, else
 * PGlite), and process helpers.
 */
export { createTestDatabase, type TestDatabase } from "./database.ts";
export { freePort, uniqueId, uniquePrefix, waitFor } from "./ports.ts";
export { type ServiceProcess, spawnService, waitForHttp } from "./process.ts";
export { type RedisCluster, startRedisCluster } from "./redis-cluster.ts";
export { type RedisServer, type RedisServerOptions, startRedisServer, testRedisUrl } from "./redis-server.ts";
