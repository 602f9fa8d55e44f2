/**
 * Group messaging: groups, members and messages in Postgres with a per-group `seq` assigned in the storing
 * transaction; fan-out of each group's messages to its members as reliable `message` frames, in seq order, each
 * seq exactly once per member; back-to-back messages of one sender merged into one frame (a burst); groups over
 * GROUP_INLINE_MAX members fanned out in chunks.
 *
 * @module
 */
export { type BurstOptions, type FanoutUnit, planUnits } from "./bursts.ts";
export { type ChunkedOptions, deliverChunked, deliverUnits, unitFrame, unitFrameId } from "./chunked.ts";
export { GroupFanout, type GroupFanoutOptions, type GroupFanoutStats, type LargeFanout } from "./fanout.ts";
export { type FanoutData, fanoutData, fanoutQueueSpec } from "./fanout-queue.ts";
export { KeyBatcher, type KeyBatcherOptions } from "./key-batcher.ts";
export { FANOUT_GROUP, GROUPS_STREAM, type GroupKeys, type GroupsKeys, groupsKeys } from "./keys.ts";
export { type FanoutMode, type GroupMetrics, groupMetrics } from "./metrics.ts";
export { decodePlan, encodePlan, splitUnits, type UnitBounds } from "./pass.ts";
export { type AddResult, GroupStore, type GroupStoreOptions, type PostResult } from "./store.ts";
