import type { Identity, Jwt } from "@bump/auth";
import type { Logger } from "@bump/service";
import { errorResponse } from "./errors/to-response.ts";
import { bearerToken } from "./middleware/auth.ts";
import { limitBody } from "./middleware/body-limit.ts";
import type { HttpMetrics, HttpSeries } from "./middleware/metrics.ts";

/** A route answered outside Hono: the request (body within the limit) and its verified caller. */
export type DirectHandler = (req: Request, identity: Identity) => Promise<Response>;

/** What {@link DirectRoutes.fetch} needs from the app. */
export interface DirectContext {
  jwt: Jwt;
  metrics: HttpMetrics;
  logger: Logger;
  maxBodyBytes: number;
}

/** The path of a request URL (`http://host/path?query`), as sent: no percent-decoding. */
function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf(":") + 3);
  const query = url.indexOf("?", start);
  return url.slice(start, query < 0 ? undefined : query);
}

/**
 * `POST` routes on the request path of the api's ingest (a few exact paths) answered without going through Hono's
 * router, context and middleware chain, with the same behaviour as the Hono app they are also mounted in: body
 * over the limit 413, then bearer auth 401, then the handler; every error through the app's `errorResponse`;
 * the same HTTP metrics series. A request whose raw path is not exactly a registered one (percent-encoded, a
 * trailing slash, another method) goes to Hono, which answers it as before.
 */
export class DirectRoutes {
  private readonly handlers = new Map<string, Route>();

  /** Registers `handler` for `POST path`; the route module mounts the same handler in Hono as well. */
  post(path: string, handler: DirectHandler): void {
    this.handlers.set(path, { path, handler, accepted: undefined });
  }

  /** How many routes are registered. */
  get size(): number {
    return this.handlers.size;
  }

  /** The answer to `req` when it is for a registered route, else undefined (Hono answers it). */
  fetch(req: Request, ctx: DirectContext): Promise<Response> | undefined {
    if (req.method !== "POST") return undefined;
    const route = this.handlers.get(pathOf(req.url));
    if (route === undefined) return undefined;
    return serve(req, route, ctx);
  }
}

/** A registered route: its path (the map's key), handler, and the metrics series of its 202s once seen. */
interface Route {
  readonly path: string;
  readonly handler: DirectHandler;
  accepted: HttpSeries | undefined;
}

async function serve(req: Request, route: Route, ctx: DirectContext): Promise<Response> {
  const started = performance.now();
  let res: Response;
  try {
    const limited = limitBody(req, ctx.maxBodyBytes);
    const within = limited instanceof Request ? limited : await limited;
    res = await route.handler(within, ctx.jwt.verifySync(bearerToken(within.headers.get("authorization"))));
  } catch (err) {
    res = errorResponse(err, ctx.logger, { method: "POST", path: route.path });
  }
  const status = res.status;
  // the series of a 202, the answer nearly every request gets, is kept with the route (no label lookups)
  let series = status === 202 ? route.accepted : undefined;
  if (series === undefined) {
    series = ctx.metrics.series(route.path, "POST", status);
    if (status === 202) route.accepted = series;
  }
  series.requests.inc();
  series.seconds.observe((performance.now() - started) / 1000);
  return res;
}
