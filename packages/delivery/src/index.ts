/**
 * Per-user delivery without a Redis subscriber per user. Reliable frames get a per-user sequence and enter a
 * capped history (one script on the user's slot, idempotent by frame id), then are routed to the gateways the
 * user is on through one `deliver:{gateway}` stream per gateway. Gateways fill gaps from history, so each socket
 * sees a user's reliable frames exactly once, in order. Offsets are `<epoch>:<seq>`.
 *
 * @module
 */
export { type BumpDeliveryOptions, bumpFrameFor, startBumpDelivery } from "./bump-delivery.ts";
export {
  type DeliverOptions,
  type DeliverReceipt,
  Delivery,
  type DeliveryOptions,
  newEpoch,
} from "./delivery.ts";
export {
  type Head,
  type HistoryFrame,
  HistoryReader,
  type HistoryWindow,
  headOffset,
  type ReadResult,
} from "./history.ts";
export { type DeliveryKeys, deliveryKeys, type UserKeys } from "./keys.ts";
export type { Presence } from "./presence.ts";
export { RedisPresence, type RedisPresenceOptions } from "./presence-redis.ts";
export {
  decodeRouted,
  encodeRouted,
  encodeRoutedMany,
  encodeVolatileMany,
  type RoutedFrame,
  type RoutedVisitor,
  visitRouted,
} from "./route.ts";
