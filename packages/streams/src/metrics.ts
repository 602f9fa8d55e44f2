import type { Counter, Gauge, Histogram, Registry } from "@bump/service";
import type { RedisClient as Redis } from "./connection.ts";
import type { StreamKeys } from "./keys.ts";
import { groupBacklogs } from "./overload.ts";

/** Per stream and group counters and the handler latency histogram of the bus. */
export interface StreamMetrics {
  processed: Counter;
  failed: Counter;
  retried: Counter;
  deadLettered: Counter;
  reclaimed: Counter;
  loopErrors: Counter;
  handlerSeconds: Histogram;
}

/** Registers (once) and returns the bus metrics on `registry`. Labels: `stream`, `group`. */
export function streamMetrics(registry: Registry): StreamMetrics {
  const l = ["stream", "group"] as const;
  return {
    processed: registry.counter("bus_processed_total", "Entries handled successfully and acked", l),
    failed: registry.counter("bus_failed_total", "Handler failures (each attempt)", l),
    retried: registry.counter("bus_retried_total", "Entries scheduled for a retry", l),
    deadLettered: registry.counter("bus_dead_lettered_total", "Entries moved to the dead-letter stream", l),
    reclaimed: registry.counter("bus_reclaimed_total", "Pending entries reclaimed from dead consumers", l),
    loopErrors: registry.counter("bus_loop_errors_total", "Errors of a consumer loop itself (Redis down, ...)", l),
    handlerSeconds: registry.histogram("bus_handler_seconds", "Handler latency per batch", l),
  };
}

/**
 * Adds a collector that, at each scrape, reads the length, dead-letter length and every group's pending and lag
 * of `streams` into gauges.
 */
export function watchStreams(registry: Registry, redis: Redis, streams: readonly StreamKeys[]): void {
  const length: Gauge = registry.gauge("bus_stream_length", "Entries in the stream", ["stream"]);
  const dlq: Gauge = registry.gauge("bus_dead_letters", "Entries in the dead-letter stream", ["stream"]);
  const pending: Gauge = registry.gauge("bus_pending", "Delivered but not acked entries", ["stream", "group"]);
  const lag: Gauge = registry.gauge("bus_lag", "Entries not yet delivered to the group", ["stream", "group"]);
  registry.addCollector(async () => {
    await Promise.all(
      streams.map(async (k) => {
        const [len, dl, groups] = await Promise.all([
          redis.xlen(k.stream),
          redis.xlen(k.dlq),
          groupBacklogs(redis, k.stream),
        ]);
        length.set([k.name], len);
        dlq.set([k.name], dl);
        for (const g of groups) {
          pending.set([k.name, g.group], g.pending);
          lag.set([k.name, g.group], g.lag ?? len);
        }
      }),
    );
  });
}
