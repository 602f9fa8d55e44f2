import { afterAll, beforeAll, expect, test } from "bun:test";
import { PGlite } from "@electric-sql/pglite";
import postgres from "postgres";
import { type PgliteServer, servePglite } from "./pglite-server.ts";

let pg: PGlite;
let server: PgliteServer;
let url: string;

beforeAll(async () => {
  pg = await PGlite.create();
  server = await servePglite(pg, { port: 0, maxConnections: 40 });
  url = `postgres://postgres@127.0.0.1:${server.port}/postgres`;
}, 30_000);

afterAll(async () => {
  await server.stop();
  await pg.close();
});

const client = (max = 1) => postgres(url, { max, onnotice: () => {} });

test("concurrent queries from many pooled connections each get their own result", async () => {
  // PGLiteSocketServer 0.2.17 answers about a third of these with another query's rows.
  const pools = Array.from({ length: 4 }, () => client(10));
  try {
    const results = await Promise.all(
      Array.from({ length: 400 }, (_, i) => {
        const c = pools[i % pools.length]!;
        if (i % 3 === 0) return c`select ${i}::int as i, ${`s${i}`}::text as s`;
        if (i % 3 === 1) return c`select ${i}::int as i, ${`s${i}`} as s`;
        return c.unsafe("select $1::int as i, $2::text as s", [i, `s${i}`]);
      }),
    );
    expect(results.map((rows) => rows[0])).toEqual(results.map((_, i) => ({ i, s: `s${i}` })));
  } finally {
    await Promise.all(pools.map((c) => c.end()));
  }
});

test("a client that disconnects inside a transaction has it rolled back and frees the session", async () => {
  const setup = client();
  await setup`create table if not exists t_abandon (n int)`;
  await setup.end();

  const quitter = client();
  const reserved = await quitter.reserve();
  await reserved`begin`;
  await reserved`insert into t_abandon values (1)`;
  await quitter.end({ timeout: 0 });

  const other = client();
  try {
    const [row] = await other`select count(*)::int as n from t_abandon`;
    expect(row?.n).toBe(0);
  } finally {
    await other.end();
  }
});

test("refuses connections past maxConnections with SQLSTATE 53300", async () => {
  for (const deadline = Date.now() + 10_000; server.connections() > 0; await Bun.sleep(10)) {
    if (Date.now() > deadline) throw new Error(`earlier connections still open: ${server.connections()}`);
  }
  const held = [client(20), client(20)];
  try {
    await Promise.all(held.flatMap((c) => Array.from({ length: 20 }, () => c`select pg_sleep(0.001)`)));
    expect(server.connections()).toBe(40);
    const extra = client();
    try {
      await expect(extra`select 1`).rejects.toMatchObject({ code: "53300" });
    } finally {
      await extra.end();
    }
  } finally {
    await Promise.all(held.map((c) => c.end()));
  }
});
