import type { Counter, Gauge, Histogram, Registry } from "@bump/service";

/** The bump-detector's own metrics (the consumer group's come from @bump/streams). */
export interface DetectorMetrics {
  fixes: Counter;
  bumps: Counter;
  cooling: Counter;
  candidates: Counter;
  indexSize: Gauge;
  latency: Histogram;
}

/** Registers (once per registry) and returns the detector's metrics. */
export function detectorMetrics(registry: Registry): DetectorMetrics {
  return {
    fixes: registry.counter("bump_fixes_processed_total", "Fixes applied to the proximity index"),
    bumps: registry.counter("bump_bumps_found_total", "Bumps appended to the bumps stream"),
    cooling: registry.counter("bump_cooldown_skipped_total", "Pairs found again while cooling down"),
    candidates: registry.counter("bump_candidate_checks_total", "Indexed fixes compared with an incoming fix"),
    indexSize: registry.gauge("bump_index_users", "Users with a live fix in the proximity index"),
    latency: registry.histogram(
      "bump_detection_seconds",
      "From the fix entering the locations stream to its bump on the bumps stream",
    ),
  };
}
