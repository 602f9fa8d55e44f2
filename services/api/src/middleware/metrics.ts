import type { CounterSeries, HistogramSeries, Registry } from "@bump/service";
import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";

interface Series {
  requests: CounterSeries;
  seconds: HistogramSeries;
}

type SeriesByMethodStatus = Map<string, Map<number, Series>>;

/** Most raw paths whose series are remembered; requests on other paths look their route pattern up each time. */
const MAX_CACHED_PATHS = 1000;

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
 * path, so cardinality stays bounded; `unmatched` for 404s) and status. A label set's series are resolved once;
 * the series of the first {@link MAX_CACHED_PATHS} raw paths are remembered by path, so a request there costs
 * three map lookups and no allocation.
 */
export function httpMetrics(registry: Registry): MiddlewareHandler {
  const requests = registry.counter("http_requests_total", "HTTP requests answered", ["method", "route", "status"]);
  const seconds = registry.histogram("http_request_duration_seconds", "HTTP request latency", [
    "method",
    "route",
    "status",
  ]);
  const byRoute = new Map<string, SeriesByMethodStatus>();
  const byPath = new Map<string, SeriesByMethodStatus>();
  const seriesOf = (route: string, method: string, status: number): Series => {
    const byStatus = entry(entry(byRoute, route), method);
    let series = byStatus.get(status);
    if (!series) {
      const labels = [method, route.endsWith("*") ? "unmatched" : route, String(status)];
      series = { requests: requests.child(labels), seconds: seconds.child(labels) };
      byStatus.set(status, series);
    }
    return series;
  };
  return async (c, next) => {
    const started = performance.now();
    await next();
    const { path, method } = c.req;
    const status = c.res.status;
    let series = byPath.get(path)?.get(method)?.get(status);
    if (!series) {
      // the same method and path always match the same route
      series = seriesOf(routePath(c, -1), method, status);
      if (byPath.has(path) || byPath.size < MAX_CACHED_PATHS) entry(entry(byPath, path), method).set(status, series);
    }
    series.requests.inc();
    series.seconds.observe((performance.now() - started) / 1000);
  };
}
