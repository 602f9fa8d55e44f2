/**
 * Storage: the drizzle schema and its committed migrations, a postgres.js connection factory, the embedded
 * Postgres for dev (PGlite served over the wire to many clients), and batched idempotent writers and readers.
 * Services always connect with a URL and call {@link migrate} at start.
 */

export { type PgliteServer, type PgliteServerOptions, servePglite } from "@bump/pglite-server";
export { createDb, type Database, type Db, type DbOptions } from "./client.ts";
export { type EmbeddedPostgres, type EmbeddedPostgresOptions, startEmbeddedPostgres } from "./embedded.ts";
export { migrate, migrationsFolder } from "./migrate.ts";
export {
  type BumpInsert,
  bumps,
  type Entity,
  entities,
  groupMembers,
  groupMessages,
  groups,
  type Job,
  jobs,
  type LocationInsert,
  locations,
} from "./schema.ts";
export {
  type Box,
  type BumpRecord,
  deleteEntity,
  type EntitiesInBoxOptions,
  type EntityUpsert,
  entitiesInBox,
  insertBumps,
  insertLocations,
  type ListBumpsOptions,
  listBumpsForUser,
  upsertEntity,
} from "./writers.ts";
