import type { CounterSeries, HistogramSeries, Registry } from "@bump/service";
import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";

/** The two series one request updates. */
export interface HttpSeries {
  requests: CounterSeries;
  seconds: HistogramSeries;
}

type SeriesByMethodStatus = Map<string, Map<number, HttpSeries>>;

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
 * The api's HTTP metrics: every request counted and its latency observed by method, route pattern (e.g.
 * `/v1/locations`, never the raw path, so cardinality stays bounded; `unmatched` for 404s) and status. A label
 * set's series are resolved once.
 */
export class HttpMetrics {
  private readonly requests;
  private readonly seconds;
  private readonly byRoute = new Map<string, SeriesByMethodStatus>();

  constructor(registry: Registry) {
    this.requests = registry.counter("http_requests_total", "HTTP requests answered", ["method", "route", "status"]);
    this.seconds = registry.histogram("http_request_duration_seconds", "HTTP request latency", [
      "method",
      "route",
      "status",
    ]);
  }

  /** The series of `route` (a pattern; one ending in `*` counts as `unmatched`), `method` and `status`. */
  series(route: string, method: string, status: number): HttpSeries {
    const byStatus = entry(entry(this.byRoute, route), method);
    let series = byStatus.get(status);
    if (!series) {
      const labels = [method, route.endsWith("*") ? "unmatched" : route, String(status)];
      series = { requests: this.requests.child(labels), seconds: this.seconds.child(labels) };
      byStatus.set(status, series);
    }
    return series;
  }

  /**
   * Hono middleware recording every request it wraps. The series of the first {@link MAX_CACHED_PATHS} raw paths
   * are remembered by path, so a request there costs three map lookups and no allocation.
   */
  middleware(): MiddlewareHandler {
    const byPath = new Map<string, SeriesByMethodStatus>();
    return async (c, next) => {
      const started = performance.now();
      await next();
      const { path, method } = c.req;
      const status = c.res.status;
      let series = byPath.get(path)?.get(method)?.get(status);
      if (!series) {
        // the same method and path always match the same route
        series = this.series(routePath(c, -1), method, status);
        if (byPath.has(path) || byPath.size < MAX_CACHED_PATHS) entry(entry(byPath, path), method).set(status, series);
      }
      series.requests.inc();
      series.seconds.observe((performance.now() - started) / 1000);
    };
  }
}
