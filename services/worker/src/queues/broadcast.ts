import type { Database } from "@bump/db";
import type { Delivery } from "@bump/delivery";
import { type broadcastData, catalog, defineQueue, type QueueDefinition } from "@bump/jobs";
import type { z } from "zod";

/** Data of a `broadcast` job. */
export type BroadcastData = z.infer<typeof broadcastData>;

/** Dependencies of the `broadcast` queue. */
export interface BroadcastDeps {
  delivery: Delivery;
  sql: Database["sql"];
  /** Users per delivery call and per database page. Default 500. */
  chunk?: number;
}

/**
 * The `broadcast` queue: delivers `frame` reliably to a list of users, or to every user whose latest location
 * lies inside `box` (read from Postgres page by page). Progress is reported per chunk. The frame id is
 * `broadcast:<job id>`, so a retried job shows the frame once per user.
 */
export function broadcastQueue(deps: BroadcastDeps): QueueDefinition<BroadcastData, { delivered: number }> {
  const chunk = deps.chunk ?? 500;
  return defineQueue({
    ...catalog.broadcast,
    handler: async (job, ctx) => {
      const frameId = `broadcast:${job.id}`;
      const send = (users: string[]) => deps.delivery.deliver(users, job.data.frame, { reliable: true, id: frameId });
      let delivered = 0;
      if ("users" in job.data) {
        const users = [...new Set(job.data.users)];
        for (let i = 0; i < users.length; i += chunk) {
          ctx.signal.throwIfAborted();
          const part = users.slice(i, i + chunk);
          await send(part);
          delivered += part.length;
          await ctx.progress(Math.round((delivered / users.length) * 100));
        }
        return { delivered };
      }
      const { north, south, east, west } = job.data.box;
      const [{ total } = { total: 0 }] = await deps.sql<{ total: number }[]>`
        select count(distinct user_id)::int as total from locations`;
      let after = "";
      let scanned = 0;
      for (;;) {
        ctx.signal.throwIfAborted();
        const rows = await deps.sql<{ user_id: string; latitude: number; longitude: number }[]>`
          select distinct on (user_id) user_id, latitude, longitude from locations
          where user_id > ${after} order by user_id, recorded_at desc limit ${chunk}`;
        if (!rows.length) break;
        after = rows[rows.length - 1]?.user_id ?? after;
        scanned += rows.length;
        const inside = rows
          .filter((r) => r.latitude >= south && r.latitude <= north)
          .filter((r) =>
            west <= east ? r.longitude >= west && r.longitude <= east : r.longitude >= west || r.longitude <= east,
          )
          .map((r) => r.user_id);
        if (inside.length) await send(inside);
        delivered += inside.length;
        await ctx.progress({ scanned, total, delivered });
      }
      return { delivered };
    },
  });
}
