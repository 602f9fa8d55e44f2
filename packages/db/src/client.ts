import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as schema from "./schema.ts";

/** The drizzle instance every query helper of this package takes. */
export type Db = PostgresJsDatabase<typeof schema>;

/** Options for {@link createDb}. */
export interface DbOptions {
  /** Most connections the pool opens. Default: 10. */
  max?: number;
}

/** A connection pool and its drizzle instance. */
export interface Database {
  /** drizzle over {@link Database.sql}, with the schema for relational queries. */
  readonly db: Db;
  /**
   * The postgres.js pool itself. drizzle turns off postgres.js's date parsing on it, so timestamps read
   * through it in raw queries come back as strings.
   */
  readonly sql: postgres.Sql;
  /** Ends the pool after in-flight queries finish (at most 5 s). Idempotent. */
  close(): Promise<void>;
}

/** Opens a pool to `url` (any `postgres://` URL, real Postgres or the embedded server); connects lazily. */
export function createDb(url: string, opts: DbOptions = {}): Database {
  const sql = postgres(url, { max: opts.max ?? 10, onnotice: () => {} });
  const db = drizzle({ client: sql, schema });
  let closing: Promise<void> | undefined;
  return {
    db,
    sql,
    close: () => {
      closing ??= sql.end({ timeout: 5 });
      return closing;
    },
  };
}
