import { z } from "zod";
import { groupMessage } from "./frames.ts";
import { epochMs, isoDateTime, namePattern, uuid } from "./primitives.ts";
import { userId } from "./user.ts";

/** Longest group message text, in UTF-8 bytes: 4096. */
export const MAX_GROUP_TEXT_BYTES = 4096;

/** Most members a group may have: 100,000. */
export const MAX_GROUP_MEMBERS = 100_000;

/** Most members named in one create or add request: 1,000. */
export const MAX_GROUP_MEMBERS_PER_REQUEST = 1_000;

/** Most messages in one page of `GET /v1/groups/:id/messages`: 500. */
export const MAX_GROUP_PAGE = 500;

/** A group id: 1-128 chars of `[A-Za-z0-9_.:-]` (minted by the API as a UUID). */
export const groupId = z.string().min(1).max(128).regex(namePattern, { error: "expected only [A-Za-z0-9_.:-]" });

const utf8 = new TextEncoder();

/** Message text: 1..4096 UTF-8 bytes. */
export const groupText = z
  .string()
  .min(1)
  .refine((s) => utf8.encode(s).length <= MAX_GROUP_TEXT_BYTES, {
    error: `text is over ${MAX_GROUP_TEXT_BYTES} bytes`,
  });

/** Body of `POST /v1/groups`: the caller becomes a member besides `members` (duplicates ignored). Strict. */
export const groupCreate = z.strictObject({
  name: z.string().max(200).default(""),
  members: z.array(userId).max(MAX_GROUP_MEMBERS_PER_REQUEST).default([]),
});
/** A create body as typed by {@link groupCreate}. */
export type GroupCreate = z.infer<typeof groupCreate>;

/** Body of `POST /v1/groups/:id/members`: 1..1000 users to add (already-members are ignored). Strict. */
export const groupMembersAdd = z.strictObject({
  members: z.array(userId).min(1).max(MAX_GROUP_MEMBERS_PER_REQUEST),
});

/**
 * Body of `POST /v1/groups/:id/messages`. `id` is an optional client UUID: a retried post with the same id stores
 * nothing new and answers the first post's `seq`. Strict.
 */
export const groupMessagePost = z.strictObject({ text: groupText, id: uuid.optional() });
/** A post body as typed by {@link groupMessagePost}. */
export type GroupMessagePost = z.infer<typeof groupMessagePost>;

/** Answer of a post: the message's id, its per-group `seq` and its time. */
export const groupMessagePosted = z.strictObject({ id: z.string(), seq: z.int().positive(), at: isoDateTime });

/** Query of `GET /v1/groups/:id/messages`: messages with `seq > after` (default 0), at most `limit` (default 100). */
export const groupMessagesQuery = z.strictObject({
  after: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().min(1).max(MAX_GROUP_PAGE).default(100),
});

/** A page of messages in `seq` order; `next_after` is the last `seq` returned (or `after` when empty). */
export const groupMessagesPage = z.strictObject({ messages: z.array(groupMessage), next_after: z.int() });

/** A group as answered by the API. */
export const groupRecord = z.strictObject({
  id: groupId,
  name: z.string(),
  created_by: userId,
  created_at: isoDateTime,
  members: z.int().nonnegative(),
});
/** A group record as typed by {@link groupRecord}. */
export type GroupRecord = z.infer<typeof groupRecord>;

/**
 * The `groups` bus message: message `seq` of `group_id` is stored. It only wakes the fan-out (which reads every
 * message after its cursor from Postgres), so a lost or repeated entry delays or repeats nothing. Loose.
 */
export const groupEvent = z.object({ group_id: groupId, seq: z.int().positive(), sender: userId, at: epochMs });
/** A bus message as typed by {@link groupEvent}. */
export type GroupEvent = z.infer<typeof groupEvent>;
