import {
  type GroupEvent,
  groupCreate,
  groupEvent,
  groupId,
  groupMembersAdd,
  groupMessagePost,
  groupMessagePosted,
  groupMessagesPage,
  groupMessagesQuery,
  groupRecord,
  MAX_GROUP_MEMBERS,
  userId,
} from "@bump/contracts";
import { GroupStore, groupsKeys } from "@bump/groups";
import { Producer } from "@bump/streams";
import { Hono } from "hono";
import { z } from "zod";
import type { ApiEnv } from "../context.ts";
import { HttpError } from "../errors/http-error.ts";
import { readJson } from "../middleware/json-body.ts";
import type { RouteModule } from "./route-module.ts";

const params = z.strictObject({ id: groupId });
const memberParams = z.strictObject({ id: groupId, user: userId });
const added = z.strictObject({ added: z.int().nonnegative() });
const removed = z.strictObject({ removed: z.literal(true) });

/** Options of {@link groupRoutes}. */
export interface GroupRoutesOptions {
  /** Key namespace of the `groups` stream (tests). Default none. */
  ns?: string;
  /** Most members of a group. Default 100,000. */
  maxMembers?: number;
}

/**
 * Group chat: `POST /v1/groups` (the caller is a member), `GET /v1/groups/:id`, `POST /v1/groups/:id/members`,
 * `DELETE /v1/groups/:id/members/:user`, `POST /v1/groups/:id/messages` and `GET /v1/groups/:id/messages`.
 * Only members read, post or add members (403 otherwise; 404 for an unknown group); a member may remove
 * themselves, the creator anyone. A post is stored with the group's next `seq` before it is answered (201; a
 * retry with the same `id` answers 200 with the same seq and stores nothing) and announced on the `groups`
 * stream for fan-out, once per batch of concurrent posts to the group. A bad body answers 400 and stores nothing.
 */
export function groupRoutes(opts: GroupRoutesOptions = {}): RouteModule {
  return (deps, openapi) => {
    const app = new Hono<ApiEnv>();
    const stream = new Producer<GroupEvent>({
      redis: deps.redis,
      keys: groupsKeys(opts.ns).stream,
      schema: groupEvent,
    });
    // Posts to one group are committed in batches; each batch is announced once with its highest seq (the
    // fan-out reads the store from its cursor), also a batch of retries only: a publish lost after the store is
    // repaired by retrying.
    const store = new GroupStore(deps.db, opts.maxMembers ?? MAX_GROUP_MEMBERS, {
      announce: async (event) => {
        await stream.add(event);
      },
    });
    const clock = deps.clock ?? Date.now;

    async function memberOf(id: string, user: string): Promise<void> {
      if (await store.isMember(id, user)) return;
      if (!(await store.get(id))) throw new HttpError("not_found", "no such group");
      throw new HttpError("forbidden", "only members of the group may do this");
    }

    app.post("/v1/groups", async (c) => {
      const body = groupCreate.parse(await readJson(c));
      const me = c.get("identity").userId;
      const id = crypto.randomUUID();
      await store.create(id, body.name, me, body.members, clock());
      return c.json(await store.get(id), 201);
    });

    app.get("/v1/groups/:id", async (c) => {
      const { id } = params.parse(c.req.param());
      await memberOf(id, c.get("identity").userId);
      const group = await store.get(id);
      if (!group) throw new HttpError("not_found", "no such group");
      return c.json(group);
    });

    app.post("/v1/groups/:id/members", async (c) => {
      const { id } = params.parse(c.req.param());
      const body = groupMembersAdd.parse(await readJson(c));
      await memberOf(id, c.get("identity").userId);
      const r = await store.addMembers(id, body.members);
      if (r.status !== "added") {
        if (r.status === "not_found") throw new HttpError("not_found", "no such group");
        throw new HttpError("invalid_request", `a group has at most ${opts.maxMembers ?? MAX_GROUP_MEMBERS} members`, [
          { path: "members", message: "too many members" },
        ]);
      }
      return c.json({ added: r.added });
    });

    app.delete("/v1/groups/:id/members/:user", async (c) => {
      const { id, user } = memberParams.parse(c.req.param());
      const me = c.get("identity").userId;
      const group = await store.get(id);
      if (!group) throw new HttpError("not_found", "no such group");
      if (user !== me && group.created_by !== me) {
        throw new HttpError("forbidden", "only the creator removes other members");
      }
      if (!(await store.removeMember(id, user))) throw new HttpError("not_found", "not a member");
      return c.json({ removed: true });
    });

    app.post("/v1/groups/:id/messages", async (c) => {
      const { id } = params.parse(c.req.param());
      const body = groupMessagePost.parse(await readJson(c));
      const me = c.get("identity").userId;
      const r = await store.post(id, me, body.id ?? crypto.randomUUID(), body.text, clock());
      if (r.status !== "created" && r.status !== "duplicate") {
        if (r.status === "not_found") throw new HttpError("not_found", "no such group");
        if (r.status === "forbidden") throw new HttpError("forbidden", "only members of the group may post");
        throw new HttpError("invalid_request", "id is already used by another message", [
          { path: "id", message: "already used" },
        ]);
      }
      const m = r.message;
      return c.json({ id: m.id, seq: m.seq, at: m.at }, r.status === "created" ? 201 : 200);
    });

    app.get("/v1/groups/:id/messages", async (c) => {
      const { id } = params.parse(c.req.param());
      const q = groupMessagesQuery.parse(c.req.query());
      await memberOf(id, c.get("identity").userId);
      const messages = await store.messages(id, q.after, q.limit);
      return c.json({ messages, next_after: messages[messages.length - 1]?.seq ?? q.after });
    });

    const tags = ["groups"];
    openapi.add({
      method: "post",
      path: "/v1/groups",
      summary: "Create a group; the caller is a member",
      tags,
      body: groupCreate,
      responses: { 201: { description: "created", schema: groupRecord } },
    });
    openapi.add({
      method: "get",
      path: "/v1/groups/{id}",
      summary: "A group the caller belongs to",
      tags,
      params,
      responses: { 200: { description: "the group", schema: groupRecord } },
    });
    openapi.add({
      method: "post",
      path: "/v1/groups/{id}/members",
      summary: "Add members (members only); already-members are ignored",
      tags,
      params,
      body: groupMembersAdd,
      responses: { 200: { description: "members added", schema: added } },
    });
    openapi.add({
      method: "delete",
      path: "/v1/groups/{id}/members/{user}",
      summary: "Leave the group, or (creator) remove a member",
      tags,
      params: memberParams,
      responses: { 200: { description: "removed", schema: removed } },
    });
    openapi.add({
      method: "post",
      path: "/v1/groups/{id}/messages",
      summary: "Post a message (members only); the same client `id` answers the same seq",
      tags,
      params,
      body: groupMessagePost,
      responses: {
        201: { description: "stored with the group's next seq", schema: groupMessagePosted },
        200: { description: "a retry: already stored", schema: groupMessagePosted },
      },
    });
    openapi.add({
      method: "get",
      path: "/v1/groups/{id}/messages",
      summary: "Messages after a seq, in seq order (members only)",
      tags,
      params,
      query: groupMessagesQuery,
      responses: { 200: { description: "a page", schema: groupMessagesPage } },
    });
    return app;
  };
}
