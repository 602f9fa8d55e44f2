import { type BumpEvent, bumpEvent } from "@bump/contracts";
import { type BumpInsert, type Db, insertBumps } from "@bump/db";
import { streamKeys, streamNames } from "@bump/streams";
import { type Persistence, type PersistenceDeps, startPersistence } from "./persistence-consumer.ts";

/** Consumer group of the bumps writer on `bumps`. */
export const BUMPS_GROUP = "bumps-writer";

/** A `bumps` message as a row. */
export function bumpRow(b: BumpEvent): BumpInsert {
  return {
    id: b.id,
    userA: b.user_a,
    userB: b.user_b,
    distanceM: b.distance_m,
    latitude: b.latitude,
    longitude: b.longitude,
    cell: b.cell,
    at: new Date(b.at),
  };
}

/**
 * Writes every bump on `bumps` to the `bumps` table, exactly once per bump id, in batches of up to 500. See
 * `startPersistence` for the outage and failure guarantees.
 */
export function startBumpsWriter(deps: PersistenceDeps & { db: Db }): Promise<Persistence> {
  return startPersistence(deps, {
    keys: streamKeys(streamNames.bumps, { ns: deps.ns }),
    group: BUMPS_GROUP,
    schema: bumpEvent,
    toRows: (b) => [bumpRow(b)],
    insert: (rows) => insertBumps(deps.db, rows),
    defaultBatchSize: 500,
  });
}
