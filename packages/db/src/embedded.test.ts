import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "@bump/testing";
import { createDb } from "./client.ts";
import { startEmbeddedPostgres } from "./embedded.ts";
import type { BumpInsert } from "./schema.ts";
import { insertBumps, listBumpsForUser } from "./writers.ts";

const dataDir = mkdtempSync(join(tmpdir(), "bump-pglite-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const bump = (id: string, userA: string): BumpInsert => ({
  id,
  userA,
  userB: "other",
  distanceM: 3,
  latitude: 0,
  longitude: 0,
  cell: "8a754e64992ffff",
  at: new Date(Date.parse("2025-01-01T00:00:00Z") + Number(id.split("-").at(-1))),
});

test("serves several pools of 10 connections at once, and keeps its data across restarts", async () => {
  const port = await freePort();
  let pg = await startEmbeddedPostgres({ dataDir, port });
  const clients = Array.from({ length: 4 }, () => createDb(pg.url, { max: 10 }));
  const first = clients[0]!;
  try {
    await first.sql`create table counter (n int not null)`;
    await first.sql`insert into counter values (0)`;

    // 4 pools x 30 concurrent operations: batched inserts, reads, and read-modify-write transactions that
    // only add up if transactions are isolated from one another.
    await Promise.all(
      clients.flatMap((c, ci) =>
        Array.from({ length: 30 }, async (_, i) => {
          expect(await insertBumps(c.db, [bump(`c${ci}-${i}`, `user-${ci}`)])).toBe(1);
          await c.sql.begin(async (tx) => {
            const [row] = await tx`select n from counter`;
            await Bun.sleep(1);
            await tx`update counter set n = ${(row?.n as number) + 1}`;
          });
          expect((await listBumpsForUser(c.db, `user-${ci}`, { limit: 200 })).length).toBeGreaterThan(0);
        }),
      ),
    );

    const [counter] = await first.sql`select n from counter`;
    expect(counter?.n).toBe(120);
    for (let ci = 0; ci < clients.length; ci++) {
      expect(await listBumpsForUser(first.db, `user-${ci}`, { limit: 200 })).toHaveLength(30);
    }
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await pg.stop();
  }

  pg = await startEmbeddedPostgres({ dataDir, port });
  const again = createDb(pg.url, { max: 2 });
  try {
    const [row] = await again.sql`select count(*)::int as n from bumps`;
    expect(row?.n).toBe(120);
  } finally {
    await again.close();
    await pg.stop();
  }
}, 60_000);
