import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createTestDatabase, type TestDatabase } from "@bump/testing";
import { eq } from "drizzle-orm";
import { createDb, type Database } from "./client.ts";
import { migrate, migrationsFolder } from "./migrate.ts";
import { type BumpInsert, entities, type LocationInsert } from "./schema.ts";
import {
  deleteEntity,
  entitiesInBox,
  insertBumps,
  insertLocations,
  listBumpsForUser,
  upsertEntity,
} from "./writers.ts";

const journal = JSON.parse(readFileSync(join(migrationsFolder, "meta", "_journal.json"), "utf8")) as {
  entries: unknown[];
};

async function appliedMigrations(d: Database): Promise<number> {
  const rows = await d.sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
  return rows[0]?.n as number;
}

async function tableNames(d: Database): Promise<string[]> {
  const rows = await d.sql`select table_name from information_schema.tables where table_schema = 'public'`;
  return rows.map((r) => r.table_name as string).sort();
}

/** Starting PGlite (compiling its wasm) takes seconds on a cold process. */
const SLOW = 30_000;

const TABLES = ["bumps", "entities", "group_members", "group_messages", "groups", "jobs", "locations"];

describe("migrate", () => {
  test(
    "applies every migration once when run twice in a row",
    async () => {
      const tdb = await createTestDatabase();
      const d = createDb(tdb.url, { max: 2 });
      try {
        await migrate(tdb.url);
        await migrate(tdb.url);
        expect(await tableNames(d)).toEqual(TABLES);
        expect(await appliedMigrations(d)).toBe(journal.entries.length);
      } finally {
        await d.close();
        await tdb.close();
      }
    },
    SLOW,
  );

  test(
    "is safe when several callers run it at once",
    async () => {
      const tdb = await createTestDatabase();
      const d = createDb(tdb.url, { max: 2 });
      try {
        await Promise.all(Array.from({ length: 5 }, () => migrate(tdb.url)));
        expect(await tableNames(d)).toEqual(TABLES);
        expect(await appliedMigrations(d)).toBe(journal.entries.length);
      } finally {
        await d.close();
        await tdb.close();
      }
    },
    SLOW,
  );
});

describe("writers", () => {
  let tdb: TestDatabase;
  let d: Database;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    await migrate(tdb.url);
    d = createDb(tdb.url);
  }, SLOW);

  afterAll(async () => {
    await d?.close();
    await tdb?.close();
  });

  const t0 = Date.parse("2025-01-01T00:00:00.000Z");

  const location = (i: number, userId = "u1"): LocationInsert => ({
    id: crypto.randomUUID(),
    userId,
    latitude: 52.5 + i * 1e-5,
    longitude: 13.4,
    accuracy: i % 2 ? 5 : null,
    altitude: null,
    cell: "8a1f1d48a5affff",
    recordedAt: new Date(t0 + i * 1000),
  });

  test("insertLocations writes each id once, across calls and within a batch", async () => {
    const userId = `loc-${crypto.randomUUID()}`;
    const rows = Array.from({ length: 2500 }, (_, i) => location(i, userId));
    const withRepeats = [...rows, ...rows.slice(0, 10)];
    expect(await insertLocations(d.db, withRepeats)).toBe(2500);
    expect(await insertLocations(d.db, rows)).toBe(0);
    expect(await insertLocations(d.db, [])).toBe(0);
    const [row] = await d.sql`select count(*)::int as n from locations where user_id = ${userId}`;
    expect(row?.n).toBe(2500);
  });

  const bump = (id: string, a: string, b: string, atMs: number): BumpInsert => ({
    id,
    userA: a,
    userB: b,
    distanceM: 12.5,
    latitude: 52.5,
    longitude: 13.4,
    cell: "8a1f1d48a5affff",
    at: new Date(atMs),
  });

  test("insertLocations stores every value exactly: doubles, nulls, millisecond times, default received_at", async () => {
    const userId = `vals-${crypto.randomUUID()}`;
    const given: LocationInsert[] = [
      { ...location(1, userId), latitude: -89.12345678901235, longitude: 179.99999999999997, accuracy: 0.5 },
      { ...location(2, userId), altitude: -12.25, accuracy: null, receivedAt: new Date(t0 + 123) },
    ];
    const before = Date.now();
    expect(await insertLocations(d.db, given)).toBe(2);
    const rows = await d.sql`
      select id::text, user_id, latitude, longitude, accuracy, altitude, cell,
        (extract(epoch from recorded_at) * 1000)::float8 as rec, (extract(epoch from received_at) * 1000)::float8 as recv
      from locations where user_id = ${userId} order by recorded_at`;
    expect(rows.map((r) => [r.id, r.user_id, r.latitude, r.longitude, r.accuracy, r.altitude, r.cell, r.rec])).toEqual(
      given.map((g) => [g.id, userId, g.latitude, g.longitude, g.accuracy, g.altitude, g.cell, g.recordedAt.getTime()]),
    );
    expect(rows[1]?.recv).toBe(t0 + 123);
    expect(rows[0]?.recv).toBeGreaterThanOrEqual(before - 60_000);
  });

  test("insertBumps stores every value exactly", async () => {
    const id = `bv-${crypto.randomUUID()}`;
    const given = { ...bump(id, "p", "q", t0 + 7), distanceM: 29.5, latitude: 0.1 + 0.2, longitude: -180 };
    expect(await insertBumps(d.db, [given])).toBe(1);
    const [row] = await d.sql`
      select id, user_a, user_b, distance_m, latitude, longitude, cell, (extract(epoch from at) * 1000)::float8 as at
      from bumps where id = ${id}`;
    expect(row).toEqual({
      id,
      user_a: "p",
      user_b: "q",
      distance_m: 29.5,
      latitude: 0.1 + 0.2,
      longitude: -180,
      cell: given.cell,
      at: t0 + 7,
    });
  });

  test("insertBumps writes each id once", async () => {
    const id = `b-${crypto.randomUUID()}`;
    const rows = [bump(`${id}-1`, "x", "y", t0), bump(`${id}-2`, "x", "z", t0)];
    expect(await insertBumps(d.db, rows)).toBe(2);
    expect(await insertBumps(d.db, [...rows, bump(`${id}-3`, "y", "z", t0)])).toBe(1);
    const [row] = await d.sql`select count(*)::int as n from bumps where id like ${`${id}-%`}`;
    expect(row?.n).toBe(3);
  });

  test("listBumpsForUser: both sides, newest first, limit, before, and nobody else's", async () => {
    const p = crypto.randomUUID();
    const [me, a, b, c] = [`me-${p}`, `a-${p}`, `b-${p}`, `c-${p}`];
    await insertBumps(d.db, [
      bump(`${p}-1`, me, a, t0 + 1000),
      bump(`${p}-2`, b, me, t0 + 3000),
      bump(`${p}-3`, a, b, t0 + 2000), // not mine
      bump(`${p}-4`, me, c, t0 + 4000),
      bump(`${p}-5`, c, me, t0 + 2000),
    ]);

    const all = await listBumpsForUser(d.db, me);
    expect(all.map((x) => x.id)).toEqual([`${p}-4`, `${p}-2`, `${p}-5`, `${p}-1`]);
    expect(all.every((x) => x.user_id === me)).toBe(true);
    expect(all.map((x) => x.other_user_id)).toEqual([c, b, c, a]);
    expect(all[0]).toEqual({
      id: `${p}-4`,
      user_id: me,
      other_user_id: c,
      distance_m: 12.5,
      latitude: 52.5,
      longitude: 13.4,
      at: new Date(t0 + 4000).toISOString(),
    });

    const page1 = await listBumpsForUser(d.db, me, { limit: 2 });
    expect(page1.map((x) => x.id)).toEqual([`${p}-4`, `${p}-2`]);
    const page2 = await listBumpsForUser(d.db, me, { limit: 2, before: page1.at(-1)?.at });
    expect(page2.map((x) => x.id)).toEqual([`${p}-5`, `${p}-1`]);
    expect(await listBumpsForUser(d.db, me, { before: new Date(t0 + 1000) })).toEqual([]);

    const theirs = await listBumpsForUser(d.db, a);
    expect(theirs.map((x) => x.id)).toEqual([`${p}-3`, `${p}-1`]);
    expect(theirs.find((x) => x.id === `${p}-3`)?.other_user_id).toBe(b);
    expect(await listBumpsForUser(d.db, `nobody-${p}`)).toEqual([]);
  });

  test("entitiesInBox handles the antimeridian and leaves out deleted entities", async () => {
    const p = `e-${crypto.randomUUID()}`;
    const at = new Date(t0);
    const put = (id: string, latitude: number, longitude: number, audience: string[] | null = null) =>
      upsertEntity(d.db, { id: `${p}-${id}`, kind: p, latitude, longitude, audience, updatedAt: at });
    await put("east-edge", 10, 179.5);
    await put("west-edge", 10, -179.5);
    await put("greenwich", 10, 0);
    await put("too-north", 30, 179.5);
    await put("deleted", 10, 179.9);
    await put("private", 10, -179.9, ["alice"]);
    await deleteEntity(d.db, `${p}-deleted`, new Date(t0 + 1));

    const ids = async (box: Parameters<typeof entitiesInBox>[1], viewer?: string) =>
      (await entitiesInBox(d.db, box, { viewer })).filter((e) => e.kind === p).map((e) => e.id.slice(p.length + 1));

    const across = { north: 20, south: 0, west: 179, east: -179 };
    expect(await ids(across)).toEqual(["east-edge", "private", "west-edge"]);
    expect(await ids(across, "bob")).toEqual(["east-edge", "west-edge"]);
    expect(await ids(across, "alice")).toEqual(["east-edge", "private", "west-edge"]);
    expect(await ids({ north: 20, south: 0, west: -1, east: 1 })).toEqual(["greenwich"]);
    expect(await ids({ north: 40, south: 0, west: 179, east: 180 })).toEqual(["east-edge", "too-north"]);
    expect(await ids({ north: 20, south: 0, west: -180, east: 180 })).toEqual([
      "east-edge",
      "greenwich",
      "private",
      "west-edge",
    ]);
  });

  test("upsertEntity and deleteEntity: last writer wins, replays change nothing", async () => {
    const id = `lww-${crypto.randomUUID()}`;
    const base = { id, kind: "pin", latitude: 1, longitude: 2 };
    const read = async () => {
      const rows = await d.db.select().from(entities).where(eq(entities.id, id));
      return rows[0];
    };

    expect(await upsertEntity(d.db, { ...base, data: { v: 2 }, updatedAt: new Date(t0 + 2000) })).toBe(true);
    expect(await upsertEntity(d.db, { ...base, data: { v: 1 }, updatedAt: new Date(t0 + 1000) })).toBe(false);
    expect(await upsertEntity(d.db, { ...base, data: { v: 2 }, updatedAt: new Date(t0 + 2000) })).toBe(false);
    expect((await read())?.data).toEqual({ v: 2 });

    expect(await upsertEntity(d.db, { ...base, latitude: 5, data: { v: 3 }, updatedAt: new Date(t0 + 3000) })).toBe(
      true,
    );
    expect(await read()).toMatchObject({ latitude: 5, data: { v: 3 }, deletedAt: null });

    expect(await deleteEntity(d.db, id, new Date(t0 + 2500))).toBe(false);
    expect(await deleteEntity(d.db, id, new Date(t0 + 4000))).toBe(true);
    expect(await deleteEntity(d.db, id, new Date(t0 + 4000))).toBe(false);
    expect((await read())?.deletedAt?.toISOString()).toBe(new Date(t0 + 4000).toISOString());

    expect(await upsertEntity(d.db, { ...base, data: { v: 4 }, updatedAt: new Date(t0 + 3500) })).toBe(false);
    expect((await read())?.deletedAt).not.toBeNull();
    expect(await upsertEntity(d.db, { ...base, data: { v: 5 }, updatedAt: new Date(t0 + 5000) })).toBe(true);
    expect(await read()).toMatchObject({ data: { v: 5 }, deletedAt: null });
  });

  test("deleteEntity before the entity exists leaves a tombstone an older upsert cannot pass", async () => {
    const id = `tomb-${crypto.randomUUID()}`;
    expect(await deleteEntity(d.db, id, new Date(t0 + 2000))).toBe(true);
    const entity = { id, kind: "pin", latitude: 1, longitude: 2, updatedAt: new Date(t0 + 1000) };
    expect(await upsertEntity(d.db, entity)).toBe(false);
    const box = { north: 2, south: 0, east: 3, west: 1 };
    expect((await entitiesInBox(d.db, box)).some((e) => e.id === id)).toBe(false);
  });
});
