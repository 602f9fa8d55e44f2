import type { CounterSeries, HistogramSeries, Registry } from "@bump/service";
import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";

interface Series {
  requests: CounterSeries;
  seconds: HistogramSeries;
}

/** The map under `key`, added empty when absent. */
function entry<K, K2, V>(map: Map<K, Map<K2, V>>, key: K): Map<K2, V> {
  let inner = map.get(key);
  if (!inner) {
    inner = new Map();
    map.set(key, inner);
  }
  return inner;
}

/**
 * Counts every request and observes its latency by method, route pattern (e.g. `/v1/locations`, never the raw
 * path, so cardinality stays bounded; `unmatched` for 404s) and status. Each label set's series are resolved
 * once, so a request costs three map lookups and no allocation.
 */
export function httpMetrics(registry: Registry): MiddlewareHandler {
  const requests = registry.counter("http_requests_total", "HTTP requests answered", ["method", "route", "status"]);
  const seconds = registry.histogram("http_request_duration_seconds", "HTTP request latency", [
    "method",
    "route",
    "status",
  ]);
  // route pattern -> method -> status -> series
  const byRoute = new Map<string, Map<string, Map<number, Series>>>();
  const seriesOf = (path: string, method: string, status: number): Series => {
    const byMethod = entry(byRoute, path);
    const byStatus = entry(byMethod, method);
    let series = byStatus.get(status);
    if (!series) {
      const labels = [method, path.endsWith("*") ? "unmatched" : path, String(status)];
      series = { requests: requests.child(labels), seconds: seconds.child(labels) };
      byStatus.set(status, series);
    }
    return series;
  };
  return async (c, next) => {
    const started = performance.now();
    await next();
    const series = seriesOf(routePath(c, -1), c.req.method, c.res.status);
    series.requests.inc();
    series.seconds.observe((performance.now() - started) / 1000);
  };
}
