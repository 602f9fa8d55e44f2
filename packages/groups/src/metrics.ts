import { Registry } from "@bump/service";

/** Fan-out modes, the label of every group metric: `inline` (<= GROUP_INLINE_MAX members) or `chunked`. */
export type FanoutMode = "inline" | "chunked";

/**
 * Metrics of the group fan-out. Labelled by mode rather than group id (group ids are unbounded); per-group counts
 * live in each group's cursor hash (see `GroupFanout.stats`).
 */
export function groupMetrics(registry: Registry = new Registry()) {
  return {
    messages: registry.counter("group_messages_fanned_total", "Group messages fanned out to every member", ["mode"]),
    frames: registry.counter("group_frames_total", "Group message frames fanned out (one per unit)", ["mode"]),
    bursts: registry.counter("group_bursts_total", "Frames carrying a burst of several messages", ["mode"]),
    members: registry.counter("group_fanout_members_total", "Member deliveries of group frames", ["mode"]),
    chunks: registry.counter("group_fanout_chunks_total", "Member chunks delivered by chunked fan-out"),
    latency: registry.histogram(
      "group_fanout_seconds",
      "From a unit's newest message being stored to its frame being in every member's history",
      ["mode"],
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    ),
    drains: registry.counter("group_drains_total", "Fan-out drains of a group, by outcome", ["outcome"]),
  };
}

/** The metric handles of {@link groupMetrics}. */
export type GroupMetrics = ReturnType<typeof groupMetrics>;
