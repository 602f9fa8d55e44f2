/**
 * Serves an embedded PGlite database over the Postgres wire protocol to many clients at once, one session owner
 * at a time, so several processes can share the zero-setup development database.
 */
export { type PgliteServer, type PgliteServerOptions, servePglite } from "./pglite-server.ts";
