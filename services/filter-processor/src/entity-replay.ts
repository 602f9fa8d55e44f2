import { type EntityEvent, entityEvent } from "@bump/contracts";
import type { RedisClient as Redis, StreamKeys } from "@bump/streams";

/** The entries of the entities stream a group has already been handed, read before the Postgres rebuild. */
export interface EntityWindow {
  /** Valid entity changes up to the group's last delivered id, in stream order. */
  readonly changes: EntityEvent[];
}

/**
 * Reads the entity changes still in the stream up to `group`'s last delivered id (none when the group does not
 * exist yet: it will read the whole stream). Read this BEFORE the Postgres rows: an entry missing from the window
 * was trimmed, so every group acked it, the `entity-writer` included, and Postgres holds it. Applying both (last
 * writer wins) rebuilds the changes the group consumed before a crash even when Postgres lacked them then.
 */
export async function readEntityWindow(redis: Redis, keys: StreamKeys, group: string): Promise<EntityWindow> {
  let last: string | undefined;
  try {
    const groups = (await redis.call("XINFO", "GROUPS", keys.stream)) as unknown[][];
    for (const g of groups) {
      const info = new Map<string, unknown>();
      for (let i = 0; i + 1 < g.length; i += 2) info.set(String(g[i]), g[i + 1]);
      if (info.get("name") === group) last = String(info.get("last-delivered-id"));
    }
  } catch (err) {
    if (!String(err).includes("no such key")) throw err;
  }
  const changes: EntityEvent[] = [];
  if (last === undefined || last === "0-0") return { changes };
  let from = "-";
  for (;;) {
    const page = (await redis.xrange(keys.stream, from, last, "COUNT", 1_000)) as [string, string[]][];
    for (const [, fields] of page) {
      const i = fields.indexOf("d");
      if (i < 0 || i % 2 !== 0) continue;
      try {
        const parsed = entityEvent.safeParse(JSON.parse(fields[i + 1] ?? ""));
        if (parsed.success) changes.push(parsed.data);
      } catch {
        // undecodable entries are dead-lettered by the consumers; nothing to rebuild from them
      }
    }
    const tail = page.at(-1);
    if (page.length < 1_000 || !tail) break;
    from = `(${tail[0]}`;
  }
  return { changes };
}
