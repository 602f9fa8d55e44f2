import type { Server } from "bun";
import type { Hono } from "hono";
import type { Logger } from "./logger.ts";

/** Serves `app` on `port` (all interfaces by default); resolves the server. */
export function serveHttp(app: Hono, port: number, log: Logger, hostname = "0.0.0.0"): Server<undefined> {
  const server = Bun.serve({ port, hostname, fetch: app.fetch, maxRequestBodySize: 16 * 1024 * 1024 });
  log.info("listening", { url: `http://${hostname === "0.0.0.0" ? "127.0.0.1" : hostname}:${server.port}` });
  return server;
}
