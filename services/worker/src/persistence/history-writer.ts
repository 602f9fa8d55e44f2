import { type LocationEvent, locationEvent } from "@bump/contracts";
import { type Db, insertLocations, type LocationInsert } from "@bump/db";
import { streamKeys, streamNames } from "@bump/streams";
import { type Persistence, type PersistenceDeps, startPersistence } from "./persistence-consumer.ts";

/** Consumer group of the location history writer on `locations`. */
export const HISTORY_GROUP = "history";

/** A `locations` message as a history row. */
export function locationRow(e: LocationEvent): LocationInsert {
  return {
    id: e.id,
    userId: e.user_id,
    latitude: e.latitude,
    longitude: e.longitude,
    accuracy: e.accuracy ?? null,
    altitude: e.altitude ?? null,
    cell: e.cell,
    recordedAt: new Date(e.recorded_at),
    receivedAt: new Date(e.received_at),
  };
}

/**
 * Writes every fix on `locations` to the `locations` table, exactly once per message id, in batches of up to
 * 1000 rows (one INSERT each). See `startPersistence` for the outage and failure guarantees.
 */
export function startHistoryWriter(deps: PersistenceDeps & { db: Db }): Promise<Persistence> {
  return startPersistence(deps, {
    keys: streamKeys(streamNames.locations, { ns: deps.ns }),
    group: HISTORY_GROUP,
    schema: locationEvent,
    toRow: locationRow,
    insert: (rows) => insertLocations(deps.db, rows),
    defaultBatchSize: 1000,
  });
}
