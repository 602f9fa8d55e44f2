/**
 * Persistence consumers: stream -> Postgres in batches, idempotent on message ids, pausing (never
 * dead-lettering) while the database is unreachable. Each `start...` returns a {@link Persistence} to close.
 */
export { BUMPS_GROUP, bumpRow, startBumpsWriter } from "./bumps-writer.ts";
export { isConnectionError } from "./connection-error.ts";
export { HISTORY_GROUP, locationRow, startHistoryWriter } from "./history-writer.ts";
export { writeThroughOutage } from "./outage.ts";
export { type Persistence, type PersistenceDeps, startPersistence } from "./persistence-consumer.ts";
