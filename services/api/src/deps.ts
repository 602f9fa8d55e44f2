import type { Jwt } from "@bump/auth";
import type { EntityEvent, LocationEvent } from "@bump/contracts";
import type { Db } from "@bump/db";
import type { Logger, ReadinessCheck, Registry } from "@bump/service";
import type { Producer, RedisClient as Redis } from "@bump/streams";

/**
 * Everything the API's routes use, built once by `main.ts` (or a test) and handed to {@link createApp}. Route
 * files take what they need from here; a new route needing a new dependency adds a field here.
 */
export interface AppDeps {
  /** Verifies bearer tokens (cached). */
  jwt: Jwt;
  /** drizzle over the Postgres pool. */
  db: Db;
  /** Shared Redis connection for ordinary commands (queued while reconnecting). */
  redis: Redis;
  /** Producer of the `locations` stream on a fail-fast connection, refusing writes while consumers lag. */
  locations: Producer<LocationEvent>;
  /**
   * One producer per partition of the `locations` stream (index = partition) when the detectors run more than
   * one (`BUMP_PARTITIONS`); each fix then goes to every partition `partitionsFor` names. Absent or of length 1:
   * every fix goes to {@link locations}.
   */
  locationPartitions?: readonly Producer<LocationEvent>[];
  /** Producer of the `entities` stream on the same fail-fast connection. */
  entities: Producer<EntityEvent>;
  /** Metrics served at `/metrics`. */
  registry: Registry;
  logger: Logger;
  /** Checks `/ready` runs besides none of its own (e.g. `redis`, `postgres`). */
  readiness: Record<string, ReadinessCheck>;
  /** Milliseconds since the epoch; default `Date.now`. Tests pin it. */
  clock?: () => number;
}
