import { and, desc, eq, gte, lt, lte, or, type SQL, sql } from "drizzle-orm";
import type { PgColumn } from "drizzle-orm/pg-core";
import type { Db } from "./client.ts";
import { type BumpInsert, bumps, type Entity, entities, type LocationInsert, locations } from "./schema.ts";

/**
 * Rows per INSERT statement. Rows travel as one JSON parameter (not one bind parameter per value), so this only
 * bounds the size of one statement.
 */
const CHUNK = 5000;

/** `excluded."<column>"`: the value the conflicting INSERT proposed. */
const excluded = (column: PgColumn): SQL => sql.raw(`excluded."${column.name}"`);

/** Runs `insert` over `rows` in chunks of {@link CHUNK}; returns the rows new in total. */
async function chunked<R>(rows: readonly R[], insert: (chunk: readonly R[]) => Promise<number>): Promise<number> {
  let inserted = 0;
  for (let i = 0; i < rows.length; i += CHUNK) inserted += await insert(rows.slice(i, i + CHUNK));
  return inserted;
}

/**
 * Writes location fixes, skipping ids already stored (and repeats within `rows`), so redelivery is harmless.
 * One statement per 5000 rows whatever the batch size: the rows go as a single JSON parameter expanded by
 * `json_populate_recordset` into the table's own row type, so the statement text and its parameter count stay
 * constant. Each statement commits on its own, and retrying the whole batch is safe. Returns how many rows were new.
 */
export function insertLocations(db: Db, rows: readonly LocationInsert[]): Promise<number> {
  return chunked(rows, async (chunk) => {
    let json = "[";
    for (let i = 0; i < chunk.length; i++) {
      const r = chunk[i] as LocationInsert;
      json += `${i ? "," : ""}${JSON.stringify({
        id: r.id,
        user_id: r.userId,
        latitude: r.latitude,
        longitude: r.longitude,
        accuracy: r.accuracy ?? null,
        altitude: r.altitude ?? null,
        cell: r.cell,
        recorded_at: r.recordedAt,
        received_at: r.receivedAt ?? null,
      })}`;
    }
    const res = await db.execute(sql`
      insert into ${locations} (id, user_id, latitude, longitude, accuracy, altitude, cell, recorded_at, received_at)
      select id, user_id, latitude, longitude, accuracy, altitude, cell, recorded_at, coalesce(received_at, now())
      from json_populate_recordset(null::${locations}, ${`${json}]`}::json)
      on conflict (id) do nothing`);
    return res.count;
  });
}

/** Writes bumps, skipping ids already stored; same statement shape and guarantees as {@link insertLocations}. */
export function insertBumps(db: Db, rows: readonly BumpInsert[]): Promise<number> {
  return chunked(rows, async (chunk) => {
    const json = JSON.stringify(
      chunk.map((r) => ({
        id: r.id,
        user_a: r.userA,
        user_b: r.userB,
        distance_m: r.distanceM,
        latitude: r.latitude,
        longitude: r.longitude,
        cell: r.cell,
        at: r.at,
      })),
    );
    const res = await db.execute(sql`
      insert into ${bumps} (id, user_a, user_b, distance_m, latitude, longitude, cell, at)
      select id, user_a, user_b, distance_m, latitude, longitude, cell, at
      from json_populate_recordset(null::${bumps}, ${json}::json)
      on conflict (id) do nothing`);
    return res.count;
  });
}

/** An entity's full state as of `updatedAt`. */
export interface EntityUpsert {
  id: string;
  kind: string;
  latitude: number;
  longitude: number;
  /** Default: `{}`. */
  data?: Record<string, unknown>;
  /** User ids allowed to see it. Default: null (everyone). */
  audience?: readonly string[] | null;
  updatedAt: Date;
}

/**
 * Stores `entity` (replacing every field, and undeleting it) only if `updatedAt` is newer than the stored
 * version, tombstones included: last writer wins whatever the arrival order, and replays change nothing.
 * Returns whether it applied.
 */
export async function upsertEntity(db: Db, entity: EntityUpsert): Promise<boolean> {
  const res = await db
    .insert(entities)
    .values({
      id: entity.id,
      kind: entity.kind,
      latitude: entity.latitude,
      longitude: entity.longitude,
      data: entity.data ?? {},
      audience: entity.audience ? [...entity.audience] : null,
      updatedAt: entity.updatedAt,
      deletedAt: null,
    })
    .onConflictDoUpdate({
      target: entities.id,
      set: {
        kind: excluded(entities.kind),
        latitude: excluded(entities.latitude),
        longitude: excluded(entities.longitude),
        data: excluded(entities.data),
        audience: excluded(entities.audience),
        updatedAt: excluded(entities.updatedAt),
        deletedAt: sql`null`,
      },
      setWhere: sql`${entities.updatedAt} < ${excluded(entities.updatedAt)}`,
    })
    .returning({ id: entities.id });
  return res.length > 0;
}

/**
 * Soft-deletes entity `id` as of `at` (sets `deleted_at` and `updated_at`) only if `at` is newer than the stored
 * version. An unknown id gets a tombstone, so an older upsert arriving later cannot bring it back. Returns
 * whether it applied.
 */
export async function deleteEntity(db: Db, id: string, at: Date): Promise<boolean> {
  const res = await db
    .insert(entities)
    .values({ id, kind: "", latitude: 0, longitude: 0, updatedAt: at, deletedAt: at })
    .onConflictDoUpdate({
      target: entities.id,
      set: { updatedAt: excluded(entities.updatedAt), deletedAt: excluded(entities.deletedAt) },
      setWhere: sql`${entities.updatedAt} < ${excluded(entities.updatedAt)}`,
    })
    .returning({ id: entities.id });
  return res.length > 0;
}

/** A bump as one of its two users sees it (the public bump record). */
export interface BumpRecord {
  id: string;
  user_id: string;
  other_user_id: string;
  distance_m: number;
  latitude: number;
  longitude: number;
  /** ISO 8601, UTC, millisecond precision. */
  at: string;
}

/** Paging for {@link listBumpsForUser}. */
export interface ListBumpsOptions {
  /** Most bumps returned. Default: 50. */
  limit?: number;
  /** Only bumps strictly before this instant (the previous page's last `at`). Default: none. */
  before?: Date | string;
}

/** The bumps `userId` took part in (as either side), newest first (ties by id, descending). */
export async function listBumpsForUser(db: Db, userId: string, opts: ListBumpsOptions = {}): Promise<BumpRecord[]> {
  const mine = or(eq(bumps.userA, userId), eq(bumps.userB, userId));
  const where = opts.before === undefined ? mine : and(mine, lt(bumps.at, new Date(opts.before)));
  const rows = await db
    .select()
    .from(bumps)
    .where(where)
    .orderBy(desc(bumps.at), desc(bumps.id))
    .limit(opts.limit ?? 50);
  return rows.map((r) => ({
    id: r.id,
    user_id: userId,
    other_user_id: r.userA === userId ? r.userB : r.userA,
    distance_m: r.distanceM,
    latitude: r.latitude,
    longitude: r.longitude,
    at: r.at.toISOString(),
  }));
}

/** A viewport in degrees; `west > east` means it crosses the antimeridian. */
export interface Box {
  north: number;
  south: number;
  east: number;
  west: number;
}

/** Filters for {@link entitiesInBox}. */
export interface EntitiesInBoxOptions {
  /** Only entities this user may see (audience null or containing them). Default: no audience filter. */
  viewer?: string;
  /** Most entities returned. Default: 10 000. */
  limit?: number;
}

/** Live (not deleted) entities inside `box`, edges included, ordered by id. */
export async function entitiesInBox(db: Db, box: Box, opts: EntitiesInBoxOptions = {}): Promise<Entity[]> {
  const lng =
    box.west <= box.east
      ? and(gte(entities.longitude, box.west), lte(entities.longitude, box.east))
      : or(gte(entities.longitude, box.west), lte(entities.longitude, box.east));
  const audience =
    opts.viewer === undefined
      ? undefined
      : sql`(${entities.audience} is null or ${opts.viewer} = any(${entities.audience}))`;
  return db
    .select()
    .from(entities)
    .where(
      and(
        gte(entities.latitude, box.south),
        lte(entities.latitude, box.north),
        lng,
        sql`${entities.deletedAt} is null`,
        audience,
      ),
    )
    .orderBy(entities.id)
    .limit(opts.limit ?? 10_000);
}
