/**
 * A typed client of the Bump Realtime WebSocket gateway for browsers and Bun: connect with a token, reconnect
 * with backoff and jitter, resume from the last offset, typed events.
 *
 * @module
 */
export { BumpClient, type BumpClientOptions, type ClientEvents, type FrameOf } from "./client.ts";
