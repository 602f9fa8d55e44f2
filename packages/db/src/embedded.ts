import { mkdirSync } from "node:fs";
import { servePglite } from "@bump/pglite-server";
import { PGlite } from "@electric-sql/pglite";
import { migrate } from "./migrate.ts";

/** Options for {@link startEmbeddedPostgres}. */
export interface EmbeddedPostgresOptions {
  /** PGlite data directory, created when missing (the dev launcher uses `.data/pglite`). */
  dataDir: string;
  /** TCP port to serve on; 0 picks a free one (see the returned `url`). */
  port: number;
  /** Interface to bind. Default: `127.0.0.1`. */
  host?: string;
  /** Client connections served at once (they take turns on PGlite's one session). Default: 100. */
  maxConnections?: number;
  /** Apply this package's migrations before answering. Default: true. */
  migrate?: boolean;
}

/** A running embedded Postgres. */
export interface EmbeddedPostgres {
  /** `postgres://` URL for any process on this host. */
  readonly url: string;
  /** Stops serving, then closes PGlite (flushing its data dir). Idempotent. */
  stop(): Promise<void>;
}

/**
 * Opens PGlite on `dataDir` and serves it over the Postgres wire protocol ({@link servePglite}), so every
 * service connects with a plain URL. Only this process may open `dataDir`. Clients take turns per statement
 * batch and per transaction: while one client is inside a transaction, the others wait.
 */
export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const host = opts.host ?? "127.0.0.1";
  mkdirSync(opts.dataDir, { recursive: true });
  const pg = await PGlite.create({ dataDir: opts.dataDir });
  const server = await servePglite(pg, { port: opts.port, host, maxConnections: opts.maxConnections ?? 100 }).catch(
    async (err: unknown) => {
      await pg.close();
      throw err;
    },
  );
  const urlHost = host.includes(":") ? `[${host}]` : host;
  const url = `postgres://postgres@${urlHost}:${server.port}/postgres`;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      await server.stop();
      await pg.close();
    })();
    return stopping;
  };
  if (opts.migrate ?? true) {
    try {
      await migrate(url);
    } catch (err) {
      await stop();
      throw err;
    }
  }
  return { url, stop };
}
