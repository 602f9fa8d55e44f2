import type { GroupMessage } from "@bump/contracts";
import type { Db } from "@bump/db";
import { type SQL, sql } from "drizzle-orm";

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
