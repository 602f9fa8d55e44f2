/**
 * The worker's group fan-out: the `group-fanout` consumer of the `groups` stream and the `fanout` job queue for
 * groups over GROUP_INLINE_MAX members.
 */
export { type FanoutQueueDeps, fanoutQueue } from "./fanout-queue.ts";
export { type GroupFanoutDeps, type RunningGroupFanout, startGroupFanout } from "./group-fanout.ts";
