import type { GroupMessage } from "@bump/contracts";
import type { Database, Db } from "@bump/db";
import { type SQL, sql } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";

/** One post waiting in a group's batch. */
export interface PendingPost {
  sender: string;
  id: string;
  text: string;
  now: number;
}

/** Outcome of {@link GroupStore.post}. */
export type PostResult =
  | { status: "created" | "duplicate"; message: GroupMessage & { id: string } }
  | { status: "not_found" | "forbidden" | "id_conflict" };

type Row = Record<string, unknown>;

function list(values: readonly string[]): SQL {
  return sql.join(
    values.map((v) => sql`${v}`),
    sql`, `,
  );
}

/** Whether `err` (or its cause) is a Postgres unique violation. */
export function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    if ((e as { code?: unknown }).code === "23505") return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** The statement of {@link storePostsOnce}: every check, the numbering and the insert; answers tagged rows. */
function storeBatch(group: string, posts: readonly PendingPost[]): SQL {
  const input = JSON.stringify(
    posts.map((p, ord) => ({ id: p.id, sender: p.sender, text: p.text, at: new Date(p.now).toISOString(), ord })),
  );
  return sql`
    with input as (
      select t.id, t.sender, t.text, t.at, t.ord
      from json_to_recordset(${input}::json) as t(id text, sender text, text text, at timestamptz, ord int)
    ),
    grp as (select id from groups where id = ${group}),
    mem as (
      select user_id from group_members
      where group_id = ${group} and user_id in (select distinct sender from input)
    ),
    old as (
      select id, group_id, seq, sender, text, at from group_messages where id in (select id from input)
    ),
    fresh as (
      select i.id, i.sender, i.text, i.at,
        (select coalesce(max(seq), 0) from group_messages where group_id = ${group})
          + row_number() over (order by i.ord) as seq
      from input i
      where exists (select 1 from grp) and i.sender in (select user_id from mem)
        and i.id not in (select id from old)
    ),
    ins as (
      insert into group_messages (group_id, seq, id, sender, text, at)
      select ${group}, seq, id, sender, text, at from fresh
      returning id, seq
    )
    select 'g' as k, id, null::text as group_id, null::int as seq, null::text as sender, null::text as text,
      null::float8 as at_ms from grp
    union all select 'm', user_id, null, null, null, null, null from mem
    union all select 'o', id, group_id, seq::int, sender, text, (extract(epoch from at) * 1000)::float8 from old
    union all select 'n', id, null, seq::int, null, null, null from ins`;
}

const dialect = new PgDialect();

/**
 * Stores `posts` of `group` with the outcomes of {@link storePosts}, in one round trip when every post has its own
 * client id: `begin`, the group's row lock, one statement (checks, numbering from the group's highest seq, insert)
 * and `commit` are sent together on one connection of `client`. The statement starts once the lock is held, so it
 * sees every message committed before (READ COMMITTED takes a snapshot per statement); if anything fails the
 * `commit` rolls back. A batch that repeats an id (or a `db` without its postgres.js pool) goes through
 * {@link storePosts} in a transaction of `db`.
 */
export async function storePostsOnce(
  db: Db,
  client: Database["sql"] | undefined,
  group: string,
  posts: PendingPost[],
): Promise<PostResult[]> {
  if (!client?.reserve || new Set(posts.map((p) => p.id)).size !== posts.length) {
    return db.transaction((tx) => storePosts(tx, group, posts));
  }
  const q = dialect.sqlToQuery(storeBatch(group, posts));
  const c = await client.reserve();
  try {
    const sent = [
      c.unsafe("begin"),
      c.unsafe("select id from groups where id = $1 for update", [group], { prepare: true }),
      c.unsafe(q.sql, q.params as never[], { prepare: true }),
      c.unsafe("commit"),
    ];
    const settled = await Promise.allSettled(sent);
    for (const r of settled) if (r.status === "rejected") throw r.reason;
    return answer(group, posts, (settled[2] as PromiseFulfilledResult<Row[]>).value);
  } finally {
    c.release();
  }
}

/** The outcome of each post from the tagged rows of the batch statement. */
function answer(group: string, posts: readonly PendingPost[], rows: readonly Row[]): PostResult[] {
  let found = false;
  const members = new Set<string>();
  const old = new Map<string, { group: string; message: GroupMessage & { id: string } }>();
  const fresh = new Map<string, number>();
  for (const r of rows) {
    const id = String(r.id);
    if (r.k === "g") found = true;
    else if (r.k === "m") members.add(id);
    else if (r.k === "n") fresh.set(id, Number(r.seq));
    else {
      const at = new Date(Number(r.at_ms)).toISOString();
      old.set(id, {
        group: String(r.group_id),
        message: { id, seq: Number(r.seq), sender: String(r.sender), text: String(r.text), at },
      });
    }
  }
  if (!found) return posts.map(() => ({ status: "not_found" as const }));
  return posts.map((p): PostResult => {
    if (!members.has(p.sender)) return { status: "forbidden" };
    const prior = old.get(p.id);
    if (prior) {
      if (prior.group !== group || prior.message.sender !== p.sender) return { status: "id_conflict" };
      return { status: "duplicate", message: prior.message };
    }
    const seq = fresh.get(p.id);
    if (seq === undefined) throw new Error(`post ${p.id} of group ${group} was not stored`);
    const at = new Date(p.now).toISOString();
    return { status: "created", message: { id: p.id, seq, sender: p.sender, text: p.text, at } };
  });
}

/**
 * Stores `posts` of `group` inside transaction `tx`, answering one result per post in order. Takes the group's row
 * lock once, then gives every new post (member sender, unused id) the next seq in order and inserts them all in one
 * statement. An id already stored, or used earlier in the same batch, answers `duplicate` with that message when
 * group and sender match, else `id_conflict`. Seqs stay gap-free because every seq handed out is inserted in the
 * same statement, or the whole transaction fails.
 */
export async function storePosts(tx: Pick<Db, "execute">, group: string, posts: PendingPost[]): Promise<PostResult[]> {
  const [g] = (await tx.execute(sql`select id from groups where id = ${group} for update`)) as unknown as Row[];
  if (!g) return posts.map(() => ({ status: "not_found" as const }));
  const senders = [...new Set(posts.map((p) => p.sender))];
  const ids = [...new Set(posts.map((p) => p.id))];
  const memberRows = (await tx.execute(
    sql`select user_id from group_members where group_id = ${group} and user_id in (${list(senders)})`,
  )) as unknown as Row[];
  const members = new Set(memberRows.map((r) => String(r.user_id)));
  const oldRows = (await tx.execute(sql`
    select id, group_id, seq::int as seq, sender, text, (extract(epoch from at) * 1000)::float8 as at_ms
    from group_messages where id in (${list(ids)})`)) as unknown as Row[];
  /** Messages by id, stored before or earlier in this batch, with their group. */
  const known = new Map<string, { group: string; message: GroupMessage & { id: string } }>();
  for (const r of oldRows) {
    const id = String(r.id);
    known.set(id, {
      group: String(r.group_id),
      message: {
        id,
        seq: Number(r.seq),
        sender: String(r.sender),
        text: String(r.text),
        at: new Date(Number(r.at_ms)).toISOString(),
      },
    });
  }
  const [next] = (await tx.execute(
    sql`select (coalesce(max(seq), 0) + 1)::int as seq from group_messages where group_id = ${group}`,
  )) as unknown as Row[];
  let seq = Number(next?.seq ?? 1);
  const fresh: SQL[] = [];
  const results = posts.map((p): PostResult => {
    if (!members.has(p.sender)) return { status: "forbidden" };
    const old = known.get(p.id);
    if (old) {
      if (old.group !== group || old.message.sender !== p.sender) return { status: "id_conflict" };
      return { status: "duplicate", message: old.message };
    }
    const at = new Date(p.now).toISOString();
    const message = { id: p.id, seq: seq++, sender: p.sender, text: p.text, at };
    known.set(p.id, { group, message });
    fresh.push(sql`(${group}, ${message.seq}::bigint, ${p.id}, ${p.sender}, ${p.text}, ${at}::timestamptz)`);
    return { status: "created", message };
  });
  if (fresh.length) {
    await tx.execute(
      sql`insert into group_messages (group_id, seq, id, sender, text, at) values ${sql.join(fresh, sql`, `)}`,
    );
  }
  return results;
}
