import type { Registry } from "@bump/service";
import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";

/**
 * Counts every request and observes its latency by method, route pattern (e.g. `/v1/locations`, never the raw
 * path, so cardinality stays bounded; `unmatched` for 404s) and status.
 */
export function httpMetrics(registry: Registry): MiddlewareHandler {
  const requests = registry.counter("http_requests_total", "HTTP requests answered", ["method", "route", "status"]);
  const seconds = registry.histogram("http_request_duration_seconds", "HTTP request latency", [
    "method",
    "route",
    "status",
  ]);
  return async (c, next) => {
    const started = performance.now();
    await next();
    const path = routePath(c, -1);
    const labels = [c.req.method, path.endsWith("*") ? "unmatched" : path, String(c.res.status)];
    requests.inc(labels);
    seconds.observe(labels, (performance.now() - started) / 1000);
  };
}
