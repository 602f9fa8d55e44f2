import { servePglite } from "@bump/pglite-server";
import { PGlite } from "@electric-sql/pglite";
import postgres from "postgres";
import { uniqueId } from "./ports.ts";

/** A database for one test file: a fresh Postgres database, or an in-process PGlite served over the wire. */
export interface TestDatabase {
  /** A postgres:// URL any process on this machine can use. */
  readonly url: string;
  /** Drops the database (Postgres) or stops the embedded server (PGlite). */
  close(): Promise<void>;
}

/**
 * Gives a fresh, empty database: `CREATE DATABASE` on `TEST_DATABASE_URL` (or `DATABASE_URL`) when set, else
 * PGlite in this process, served over the Postgres wire protocol on a free port.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const base = process.env.TEST_DATABASE_URL ?? process.env.DATABASE_URL;
  if (base) {
    const name = `t_${uniqueId()}`;
    const admin = postgres(base, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE DATABASE "${name}"`);
    await admin.end();
    const url = new URL(base);
    url.pathname = `/${name}`;
    return {
      url: url.toString(),
      close: async () => {
        const a = postgres(base, { max: 1, onnotice: () => {} });
        await a.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => {});
        await a.end();
      },
    };
  }
  const db = await PGlite.create();
  const server = await servePglite(db, { port: 0, host: "127.0.0.1", maxConnections: 100 });
  return {
    url: `postgres://postgres@127.0.0.1:${server.port}/postgres`,
    close: async () => {
      await server.stop();
      await db.close();
    },
  };
}
