import type { Database } from "@bump/db";
import { catalog, defineQueue, type exportData, type Queue, type QueueDefinition } from "@bump/jobs";
import type { z } from "zod";

/** Data of an `export` job. */
export type ExportData = z.infer<typeof exportData>;

/** What an export job resolves with; the file is downloadable at `url` until `expires_at`. */
export interface ExportResult {
  rows: number;
  bytes: number;
  url: string;
  expires_at: string;
}

/** Dependencies of the `export` queue. */
export interface ExportDeps {
  sql: Database["sql"];
  /** The producer side of the queue, where the file is stored. */
  queue: Queue;
  /** How long a finished export stays downloadable, ms. Default 3,600,000. */
  ttlMs?: number;
  /** Rows per page and per appended chunk. Default 1000. */
  chunk?: number;
}

interface Row {
  id: string;
  latitude: number;
  longitude: number;
  accuracy: number | null;
  altitude: number | null;
  at: string;
  k: string;
}

/**
 * The `export` queue: the owner's location history, oldest first, as NDJSON (one
 * `{id, latitude, longitude, accuracy, altitude, recorded_at}` per line), read and stored page by page so
 * memory stays bounded, with progress. A retried run starts the file afresh.
 */
export function exportQueue(deps: ExportDeps): QueueDefinition<ExportData, ExportResult> {
  const ttlMs = deps.ttlMs ?? 3_600_000;
  const chunk = deps.chunk ?? 1_000;
  return defineQueue({
    ...catalog.export,
    handler: async (job, ctx) => {
      if (!job.owner) throw new Error("an export needs an owner");
      const from = job.data.from ?? "-infinity";
      const to = job.data.to ?? "infinity";
      const [{ total } = { total: 0 }] = await deps.sql<{ total: number }[]>`
        select count(*)::int as total from locations
        where user_id = ${job.owner} and recorded_at >= ${from}::timestamptz and recorded_at < ${to}::timestamptz`;
      await deps.queue.resetArtifact(job.id);
      let rows = 0;
      let bytes = 0;
      let afterK = "-infinity";
      let afterId = "00000000-0000-0000-0000-000000000000";
      for (;;) {
        ctx.signal.throwIfAborted();
        const page = await deps.sql<Row[]>`
          select id, latitude, longitude, accuracy, altitude, recorded_at::text as k,
            to_char(recorded_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as at
          from locations
          where user_id = ${job.owner} and recorded_at >= ${from}::timestamptz and recorded_at < ${to}::timestamptz
            and (recorded_at, id) > (${afterK}::timestamptz, ${afterId}::uuid)
          order by recorded_at, id limit ${chunk}`;
        if (!page.length) break;
        const text = page
          .map((r) =>
            JSON.stringify({
              id: r.id,
              latitude: r.latitude,
              longitude: r.longitude,
              accuracy: r.accuracy,
              altitude: r.altitude,
              recorded_at: r.at,
            }),
          )
          .join("\n");
        const body = `${text}\n`;
        await deps.queue.appendArtifact(job.id, body, ttlMs);
        const last = page[page.length - 1] as Row;
        afterK = last.k;
        afterId = last.id;
        rows += page.length;
        bytes += Buffer.byteLength(body);
        await ctx.progress(total ? Math.min(100, Math.round((rows / total) * 100)) : 100);
      }
      if (rows === 0) await deps.queue.appendArtifact(job.id, "", ttlMs);
      return {
        rows,
        bytes,
        url: `/v1/jobs/${job.id}?download=1`,
        expires_at: new Date(Date.now() + ttlMs).toISOString(),
      };
    },
  });
}
