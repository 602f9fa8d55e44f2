import { z } from "zod";
import { bumpRecord } from "./bump.ts";
import { atTime } from "./clock.ts";
import { entityFilter, publicEntity } from "./entity.ts";
import { zodIssuesToDetails } from "./errors.ts";
import { jobUpdate } from "./job.ts";
import { locationFields } from "./location.ts";
import { isoDateTime, latitude, longitude } from "./primitives.ts";
import { userId } from "./user.ts";
import { sessionId } from "./viewport.ts";

const offsetPattern = /^([0-9A-Za-z]{1,32}):(0|[1-9][0-9]{0,14})$/;

/**
 * A reliable frame's per-user offset, `<epoch>:<seq>`: `epoch` 1-32 alphanumerics, changed whenever the user's
 * history is lost or reset; `seq` a decimal integer that increases by one per reliable frame within an epoch.
 */
export const offset = z.string().regex(offsetPattern, { error: "expected an offset <epoch>:<seq>" });

/** An offset as typed by {@link offset}. */
export type Offset = z.infer<typeof offset>;

/** Splits an offset into its epoch and sequence; `null` when it is not one. */
export function parseOffset(value: string): { epoch: string; seq: number } | null {
  const m = offsetPattern.exec(value);
  return m?.[1] && m[2] ? { epoch: m[1], seq: Number(m[2]) } : null;
}

/** Builds the offset `<epoch>:<seq>`. */
export function formatOffset(epoch: string, seq: number): Offset {
  return `${epoch}:${seq}`;
}

/** An id a client puts on a frame to correlate the answer (`ack`, `pong`, `error.ref`): 1-128 chars. */
const frameId = z.string().min(1).max(128);

// Client -> server. Every frame is strict: unknown fields are a protocol error answered with `error`.

/** First frame when the URL had no `?token=`; must arrive within 5 s of the upgrade. */
export const authFrame = z.strictObject({ type: z.literal("auth"), token: z.string().min(1).max(8192) });
/** A location update, as the HTTP body; when `id` (a UUID) is given the server answers `ack` once it is published. */
export const locationFrame = z.strictObject({ type: z.literal("location"), ...locationFields() });
/** Replaces the session's viewport; entity updates inside it follow, starting with a snapshot. */
export const viewportFrame = z
  .strictObject({ type: z.literal("viewport"), north: latitude, south: latitude, east: longitude, west: longitude })
  .refine((v) => v.north >= v.south, { error: "north must be >= south", path: ["north"] });
/** Replaces the session's entity filter; `{"type":"filter"}` clears it. */
export const filterFrame = z.strictObject({ type: z.literal("filter"), ...entityFilter.shape });
/** Replays every reliable frame after `since` still in history, in order, then live; else `resync`. */
export const resumeFrame = z.strictObject({ type: z.literal("resume"), since: offset });
/** Answered by `pong` with the same `id`. */
export const pingFrame = z.strictObject({ type: z.literal("ping"), id: frameId.optional() });

/** Every frame a client may send, discriminated by `type`. */
export const clientFrame = z.discriminatedUnion("type", [
  authFrame,
  locationFrame,
  viewportFrame,
  filterFrame,
  resumeFrame,
  pingFrame,
]);

/** A client frame as typed by {@link clientFrame}. */
export type ClientFrame = z.infer<typeof clientFrame>;
/** The `auth` frame. */
export type AuthFrame = z.infer<typeof authFrame>;
/** The `location` frame. */
export type LocationFrame = z.infer<typeof locationFrame>;
/** The `viewport` frame. */
export type ViewportFrame = z.infer<typeof viewportFrame>;
/** The `filter` frame. */
export type FilterFrame = z.infer<typeof filterFrame>;
/** The `resume` frame. */
export type ResumeFrame = z.infer<typeof resumeFrame>;
/** The `ping` frame. */
export type PingFrame = z.infer<typeof pingFrame>;

// Server -> client.

/** First frame after authentication; `resumed` tells whether the requested `since` was replayed. */
export const welcomeFrame = z.strictObject({
  type: z.literal("welcome"),
  session_id: sessionId,
  user_id: userId,
  heartbeat_ms: z.int().positive(),
  resumed: z.boolean(),
});
/** Reliable: a bump involving the user. */
export const bumpFrame = z.strictObject({ type: z.literal("bump"), offset, bump: bumpRecord });
/** Reliable: a change of one of the user's jobs. */
export const jobFrame = z.strictObject({ type: z.literal("job"), offset, job: jobUpdate });

/** One group chat message; `seq` orders a group's messages. */
export const groupMessage = z.strictObject({
  seq: z.int().nonnegative(),
  sender: userId,
  text: z.string(),
  at: isoDateTime,
});
/** A group chat message as typed by {@link groupMessage}. */
export type GroupMessage = z.infer<typeof groupMessage>;

/** Reliable: new messages of a group the user belongs to, in `seq` order. */
export const messageFrame = z.strictObject({
  type: z.literal("message"),
  offset,
  group_id: z.string().min(1).max(128),
  messages: z.array(groupMessage).min(1),
});

/** A removed entity: its id and time, plus its last known fields when the producer has them. */
export const removedEntity = publicEntity.partial({ kind: true, latitude: true, longitude: true, data: true });
/** A removed entity as typed by {@link removedEntity}. */
export type RemovedEntity = z.infer<typeof removedEntity>;

/** Volatile: an entity in the viewport changed or was removed; may be coalesced per entity id (latest wins). */
export const entityFrame = z.discriminatedUnion("op", [
  z.strictObject({ type: z.literal("entity"), op: z.literal("upsert"), entity: publicEntity }),
  z.strictObject({ type: z.literal("entity"), op: z.literal("remove"), entity: removedEntity }),
]);
/** Volatile: every entity in the new viewport that passes the filter, after a viewport or filter change. */
export const entitiesFrame = z.strictObject({
  type: z.literal("entities"),
  op: z.literal("snapshot"),
  entities: z.array(publicEntity),
});
/** History after the requested offset is gone (or its epoch changed): refetch over HTTP, then go on live. */
export const resyncFrame = z.strictObject({ type: z.literal("resync"), reason: z.string().min(1) });

/**
 * Codes of `error` frames: `bad_json`, `unknown_type`, `invalid_frame` for a bad inbound frame (the socket stays
 * open), `unauthorized`/`forbidden`/`rate_limited` for a refused request, `internal` for our fault.
 */
export const frameErrorCode = z.enum([
  "bad_json",
  "unknown_type",
  "invalid_frame",
  "unauthorized",
  "forbidden",
  "rate_limited",
  "internal",
]);
/** A frame error code as typed by {@link frameErrorCode}. */
export type FrameErrorCode = z.infer<typeof frameErrorCode>;

/** A request or frame failed; `ref` is the offending frame's `id` when it had one. */
export const errorFrame = z.strictObject({
  type: z.literal("error"),
  code: frameErrorCode,
  message: z.string(),
  ref: frameId.optional(),
});
/** The frame with this `id` (a `location`) was accepted. */
export const ackFrame = z.strictObject({ type: z.literal("ack"), id: frameId });
/** Answer to `ping`, echoing its `id`. */
export const pongFrame = z.strictObject({ type: z.literal("pong"), id: frameId.optional() });

/** Every frame the server may send, discriminated by `type` (and `op` for `entity`). */
export const serverFrame = z.discriminatedUnion("type", [
  welcomeFrame,
  bumpFrame,
  jobFrame,
  messageFrame,
  entityFrame,
  entitiesFrame,
  resyncFrame,
  errorFrame,
  ackFrame,
  pongFrame,
]);

/** A server frame as typed by {@link serverFrame}. */
export type ServerFrame = z.infer<typeof serverFrame>;
/** The `welcome` frame. */
export type WelcomeFrame = z.infer<typeof welcomeFrame>;
/** The `bump` frame. */
export type BumpFrame = z.infer<typeof bumpFrame>;
/** The `job` frame. */
export type JobFrame = z.infer<typeof jobFrame>;
/** The `message` frame. */
export type MessageFrame = z.infer<typeof messageFrame>;
/** The `entity` frame. */
export type EntityFrame = z.infer<typeof entityFrame>;
/** The `entities` frame. */
export type EntitiesFrame = z.infer<typeof entitiesFrame>;
/** The `resync` frame. */
export type ResyncFrame = z.infer<typeof resyncFrame>;
/** The `error` frame. */
export type ErrorFrame = z.infer<typeof errorFrame>;
/** The `ack` frame. */
export type AckFrame = z.infer<typeof ackFrame>;
/** The `pong` frame. */
export type PongFrame = z.infer<typeof pongFrame>;
/** Frames that carry an `offset`: delivered exactly once, in order, and replayed on resume. */
export type ReliableFrame = BumpFrame | JobFrame | MessageFrame;

/** Frame types that carry an `offset` and are replayed on resume. */
export const reliableFrameTypes = ["bump", "job", "message"] as const satisfies readonly ReliableFrame["type"][];

const clientFrameByType = {
  auth: authFrame,
  location: locationFrame,
  viewport: viewportFrame,
  filter: filterFrame,
  resume: resumeFrame,
  ping: pingFrame,
} satisfies { [T in ClientFrame["type"]]: z.ZodType<Extract<ClientFrame, { type: T }>> };

/** The outcome of {@link parseClientFrame}: the frame, or an `error` frame's `code`, `message` and `ref`. */
export type ClientFrameResult =
  | { ok: true; frame: ClientFrame }
  | { ok: false; code: "bad_json" | "unknown_type" | "invalid_frame"; message: string; ref?: string };

/**
 * Parses one inbound text frame; never throws. Not JSON: `bad_json`; not an object with a known `type`:
 * `unknown_type`; a field error: `invalid_frame` with the first issue as `path: message`. `ref` is the frame's
 * string `id` (1-128 chars) when it had one. `now` (epoch ms) pins the clock of the `recorded_at` check.
 */
export function parseClientFrame(text: string, now?: number): ClientFrameResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, code: "bad_json", message: "frame is not valid JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, code: "unknown_type", message: "frame must be a JSON object with a type" };
  }
  const record = value as Record<string, unknown>;
  const id = record.id;
  const ref = typeof id === "string" && id.length > 0 && id.length <= 128 ? { ref: id } : {};
  const type = record.type;
  if (typeof type !== "string" || !Object.hasOwn(clientFrameByType, type)) {
    const shown = typeof type === "string" ? `"${type.slice(0, 32)}"` : "missing";
    return { ok: false, code: "unknown_type", message: `unknown frame type: ${shown}`, ...ref };
  }
  const schema: z.ZodType<ClientFrame> = clientFrameByType[type as ClientFrame["type"]];
  const result = atTime(now, () => schema.safeParse(value));
  if (result.success) return { ok: true, frame: result.data };
  const first = zodIssuesToDetails(result.error)[0];
  const message = first ? (first.path ? `${first.path}: ${first.message}` : first.message) : "invalid frame";
  return { ok: false, code: "invalid_frame", message, ...ref };
}
