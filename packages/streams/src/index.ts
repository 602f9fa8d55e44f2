/**
 * The bus runtime over Redis Streams consumer groups: typed producers, batch consumers with per-group retries and
 * backoff, dead letters with replay, reclaiming of dead consumers' entries, safe trimming, overload signalling and
 * metrics. Delivery is at least once; make effects idempotent on `Message.id`.
 */
export { type BackoffOptions, backoffDelay } from "./backoff.ts";
export { BusUnavailableError } from "./bus-unavailable-error.ts";
export {
  type ConnectionOptions,
  type ConnectionRole,
  createRedis,
  duplicateForBlocking,
  isCluster,
  masters,
  nodeFor,
  type RedisClient,
  type RedisTlsOptions,
  redisAnswers,
  scanKeys,
} from "./connection.ts";
export { type BatchHandler, type BatchResult, Consumer, type ConsumerOptions, type Message } from "./consumer.ts";
export { type DeadLetter, listDeadLetters, replayDeadLetters } from "./dead-letters.ts";
export { claimOnce } from "./idempotency.ts";
export { idempotencyKey, partitionedStreamKeys, type StreamKeys, streamKeys, streamNames } from "./keys.ts";
export { type StreamMetrics, streamMetrics, watchStreams } from "./metrics.ts";
export { type GroupBacklog, groupBacklogs, OverloadMonitor, type OverloadOptions, streamBacklog } from "./overload.ts";
export { OverloadedError } from "./overloaded-error.ts";
export { Producer, type ProducerOptions } from "./producer.ts";
export { groupBySlot, keySlot } from "./slot.ts";
export { type PipelineReply, SlotBatch } from "./slot-batch.ts";
export { compareIds, idTime, nextId, parseId } from "./stream-id.ts";
export { type TrimOptions, trimAcked } from "./trim.ts";
export { MessageValidationError } from "./validation-error.ts";
