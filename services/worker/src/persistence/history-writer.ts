import { type LocationEvent, locationEntry } from "@bump/contracts";
import { type Db, insertLocations, type LocationInsert } from "@bump/db";
import { partitionOfCell } from "@bump/geo";
import { partitionedStreamKeys, streamNames } from "@bump/streams";
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

/** The rows of the fixes whose owner partition is `partition` of `partitions`. */
function ownRows(events: readonly LocationEvent[], partition: number, partitions: number): LocationInsert[] {
  const rows: LocationInsert[] = [];
  for (const e of events) if (partitionOfCell(e.cell, partitions) === partition) rows.push(locationRow(e));
  return rows;
}

/**
 * Writes every fix on `locations` to the `locations` table, exactly once per fix id (an entry holds one fix or
 * several, each with its own id), in INSERTs of up to 1000 rows. See `startPersistence` for the outage and failure
 * guarantees: an entry whose rows Postgres refuses is retried whole, its rows already written being skipped.
 *
 * With `partitions` above 1 (the bump-detectors' `BUMP_PARTITIONS`) it consumes every partition `{locations:<p>}`;
 * a fix near a region border is on several partitions, and only the copy on its owner partition
 * (`partitionOfCell`) is written, the others are acked unwritten.
 */
export async function startHistoryWriter(
  deps: PersistenceDeps & { db: Db; partitions?: number },
): Promise<Persistence> {
  const all = partitionedStreamKeys(streamNames.locations, { ns: deps.ns, partitions: deps.partitions });
  const writers = await Promise.all(
    all.map((keys, partition) =>
      startPersistence(deps, {
        keys,
        group: HISTORY_GROUP,
        schema: locationEntry,
        toRows:
          all.length > 1
            ? (events: LocationEvent[]) => ownRows(events, partition, all.length)
            : (events: LocationEvent[]) => events.map(locationRow),
        insert: (rows) => insertLocations(deps.db, rows),
        defaultBatchSize: 1000,
      }),
    ),
  );
  if (writers.length === 1) return writers[0] as Persistence;
  return {
    name: `${streamNames.locations}/${HISTORY_GROUP}`,
    isRunning: () => writers.every((w) => w.isRunning()),
    close: async () => void (await Promise.all(writers.map((w) => w.close()))),
  };
}
