import type { GroupEvent, GroupMessage, GroupRecord } from "@bump/contracts";
import { type Database, type Db, groupMembers, groups } from "@bump/db";
import { sql } from "drizzle-orm";
import { KeyBatcher, type KeyBatcherOptions } from "./key-batcher.ts";
import { isUniqueViolation, type PendingPost, type PostResult, storePostsOnce } from "./store-posts.ts";

export type { PostResult } from "./store-posts.ts";

/** Options of {@link GroupStore}: the group commit of posts. */
export interface GroupStoreOptions extends KeyBatcherOptions {
  /**
   * Called once per committed batch of posts to one group that answered any message (`created` or `duplicate`),
   * with the highest seq answered, before those posts resolve. A throw rejects every post of the batch; a retry of
   * one answers `duplicate` and announces again, so a lost announcement is repaired by retrying.
   */
  announce?: (event: GroupEvent) => Promise<void>;
}

/** Outcome of {@link GroupStore.addMembers}. */
export type AddResult = { status: "added"; added: number } | { status: "not_found" | "full" };

type Row = Record<string, unknown>;

const INSERT_CHUNK = 5_000;

function iso(ms: unknown): string {
  return new Date(Number(ms)).toISOString();
}

function toMessage(r: Row): GroupMessage {
  return { seq: Number(r.seq), sender: String(r.sender), text: String(r.text), at: iso(r.at_ms) };
}

/**
 * Groups, members and messages in Postgres. A message's `seq` is assigned in the transaction that stores it, under
 * a row lock on its group, so a group's seqs are 1, 2, 3, ... with no gap or repeat whatever the concurrency; the
 * client id is unique, so a retried post stores nothing new and returns the first post's seq. Concurrent posts to
 * one group share one transaction (see {@link GroupStore.post}).
 */
export class GroupStore {
  private readonly batcher: KeyBatcher<PendingPost, PostResult>;
  /** The postgres.js pool under `db`: a batch of posts is sent on one of its connections at once. */
  private readonly client: Database["sql"] | undefined;

  constructor(
    private readonly db: Db,
    /** Most members of a group. Default 100,000. */
    private readonly maxMembers = 100_000,
    private readonly opts: GroupStoreOptions = {},
  ) {
    this.client = (db as Db & { $client?: Database["sql"] }).$client;
    this.batcher = new KeyBatcher((group, posts) => this.commitPosts(group, posts), opts);
  }

  /** Creates a group whose members are `creator` and `members` (deduplicated). */
  async create(id: string, name: string, creator: string, members: readonly string[], now: number): Promise<void> {
    const users = [...new Set([creator, ...members])];
    await this.db.transaction(async (tx) => {
      await tx.insert(groups).values({ id, name, createdBy: creator, createdAt: new Date(now) });
      for (let i = 0; i < users.length; i += INSERT_CHUNK) {
        const part = users.slice(i, i + INSERT_CHUNK).map((userId) => ({ groupId: id, userId }));
        await tx.insert(groupMembers).values(part).onConflictDoNothing();
      }
    });
  }

  /** The group with its member count, or undefined. */
  async get(id: string): Promise<GroupRecord | undefined> {
    const [r] = (await this.db.execute(sql`
      select g.id, g.name, g.created_by, (extract(epoch from g.created_at) * 1000)::float8 as at_ms,
        (select count(*)::int from group_members m where m.group_id = g.id) as members
      from groups g where g.id = ${id}`)) as unknown as Row[];
    if (!r) return undefined;
    return {
      id: String(r.id),
      name: String(r.name),
      created_by: String(r.created_by),
      created_at: iso(r.at_ms),
      members: Number(r.members),
    };
  }

  /** Adds members (already-members ignored) unless the group would pass its member cap. */
  async addMembers(id: string, users: readonly string[]): Promise<AddResult> {
    const unique = [...new Set(users)];
    return this.db.transaction(async (tx) => {
      const [g] = (await tx.execute(sql`select id from groups where id = ${id} for update`)) as unknown as Row[];
      if (!g) return { status: "not_found" as const };
      const [c] = (await tx.execute(
        sql`select count(*)::int as n from group_members where group_id = ${id}`,
      )) as unknown as Row[];
      if (Number(c?.n ?? 0) + unique.length > this.maxMembers) return { status: "full" as const };
      let added = 0;
      for (let i = 0; i < unique.length; i += INSERT_CHUNK) {
        const part = unique.slice(i, i + INSERT_CHUNK).map((userId) => ({ groupId: id, userId }));
        const rows = await tx
          .insert(groupMembers)
          .values(part)
          .onConflictDoNothing()
          .returning({ u: groupMembers.userId });
        added += rows.length;
      }
      return { status: "added" as const, added };
    });
  }

  /** Removes a member; false when they were not one. */
  async removeMember(id: string, user: string): Promise<boolean> {
    const rows = (await this.db.execute(
      sql`delete from group_members where group_id = ${id} and user_id = ${user} returning user_id`,
    )) as unknown as Row[];
    return rows.length > 0;
  }

  /** Whether `user` is a member of group `id`. */
  async isMember(id: string, user: string): Promise<boolean> {
    const rows = (await this.db.execute(
      sql`select 1 from group_members where group_id = ${id} and user_id = ${user}`,
    )) as unknown as Row[];
    return rows.length > 0;
  }

  /**
   * Stores a message of `sender` with the group's next seq. Unknown group: `not_found`; sender not a member:
   * `forbidden`; `id` already used by this sender in this group: `duplicate` with the stored message; used by
   * another message: `id_conflict`. Nothing is stored unless the answer is `created`.
   *
   * Concurrent posts to one group in this process are committed together (group commit): they wait at most
   * `windowMs` (or for the group's transaction in flight), then one transaction locks the group row once, gives
   * them consecutive seqs in arrival order, inserts them in one statement and commits once. Across processes the
   * row lock orders the batches, so seqs stay gap-free. A batch that answered any message is announced once
   * (see {@link GroupStoreOptions.announce}) before its posts resolve.
   */
  post(group: string, sender: string, id: string, text: string, now: number): Promise<PostResult> {
    return this.batcher.submit(group, { sender, id, text, now });
  }

  private async commitPosts(group: string, posts: PendingPost[]): Promise<PostResult[]> {
    let results: PostResult[] = [];
    for (let attempt = 1; ; attempt++) {
      try {
        results = await storePostsOnce(this.db, this.client, group, posts);
        break;
      } catch (err) {
        // A unique id taken meanwhile by a post to another group: the retry sees it and answers id_conflict.
        if (attempt >= 3 || !isUniqueViolation(err)) throw err;
      }
    }
    const announce = this.opts.announce;
    let top: (GroupMessage & { id: string }) | undefined;
    for (const r of results) {
      if ((r.status === "created" || r.status === "duplicate") && (!top || r.message.seq > top.seq)) top = r.message;
    }
    if (announce && top) {
      await announce({ group_id: group, seq: top.seq, sender: top.sender, at: Date.parse(top.at) });
    }
    return results;
  }

  /** Messages of `group` with `after < seq <= upTo` (default no upper bound), in seq order, at most `limit`. */
  async messages(group: string, after: number, limit: number, upTo = Number.MAX_SAFE_INTEGER): Promise<GroupMessage[]> {
    const rows = (await this.db.execute(sql`
      select seq::int as seq, sender, text, (extract(epoch from at) * 1000)::float8 as at_ms
      from group_messages where group_id = ${group} and seq > ${after} and seq <= ${upTo}
      order by seq limit ${limit}`)) as unknown as Row[];
    return rows.map(toMessage);
  }

  /**
   * In one query: messages of `group` with `after < seq <= upTo`, in seq order, at most `limit`, and up to
   * `memberLimit` of its members (the first in user id order).
   */
  async pending(
    group: string,
    after: number,
    limit: number,
    memberLimit: number,
    upTo = Number.MAX_SAFE_INTEGER,
  ): Promise<{ messages: GroupMessage[]; members: string[] }> {
    const rows = (await this.db.execute(sql`
      (select seq::int as seq, sender, text, (extract(epoch from at) * 1000)::float8 as at_ms, null::text as member
        from group_messages where group_id = ${group} and seq > ${after} and seq <= ${upTo}
        order by seq limit ${limit})
      union all
      (select null, null, null, null, user_id from group_members where group_id = ${group}
        order by user_id limit ${memberLimit})`)) as unknown as Row[];
    const messages: GroupMessage[] = [];
    const members: string[] = [];
    for (const r of rows) {
      if (r.member === null || r.member === undefined) messages.push(toMessage(r));
      else members.push(String(r.member));
    }
    messages.sort((a, b) => a.seq - b.seq);
    return { messages, members };
  }

  /** Number of members of `group`. */
  async memberCount(group: string): Promise<number> {
    const [r] = (await this.db.execute(
      sql`select count(*)::int as n from group_members where group_id = ${group}`,
    )) as unknown as Row[];
    return Number(r?.n ?? 0);
  }

  /** One page of members in user id order, after `afterUser` (exclusive; "" for the first page). */
  async members(group: string, afterUser: string, limit: number): Promise<string[]> {
    const rows = (await this.db.execute(sql`
      select user_id from group_members where group_id = ${group} and user_id > ${afterUser}
      order by user_id limit ${limit}`)) as unknown as Row[];
    return rows.map((r) => String(r.user_id));
  }
}
