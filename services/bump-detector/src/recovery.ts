import type { LocationEvent } from "@bump/contracts";
import type { RedisClient as Redis } from "@bump/streams";
import { idTime, type Message, nextId } from "@bump/streams";
import type { BumpDetector } from "./detector.ts";
import { checkLocationEntry, locationEntryDecoder } from "./location-decode.ts";

/** Options of {@link recoverDetector}. */
export interface RecoveryOptions {
  redis: Redis;
  stream: string;
  group: string;
  /** How much stream history before the first unprocessed entry can still hold live fixes, ms. */
  windowMs: number;
  detector: BumpDetector;
  /** Detects and records bumps of a batch, as the live consumer does. */
  apply: (batch: Message<LocationEvent[]>[]) => Promise<void>;
}

const PAGE = 5_000;

function decode(id: string, fields: string[]): Message<LocationEvent[]> | undefined {
  const i = fields.indexOf("d");
  if (i < 0 || i % 2 !== 0) return undefined;
  try {
    const json: unknown = JSON.parse(fields[i + 1] ?? "");
    const fast = checkLocationEntry(json);
    if (fast) return { id, data: fast, attempt: 1 };
    const r = locationEntryDecoder.safeParse(json);
    return r.success ? { id, data: r.data, attempt: 1 } : undefined;
  } catch {
    return undefined;
  }
}

/** Reads `[from, to]` (Redis range syntax, `(` for exclusive) in pages, calling `page` on each. */
async function scan(
  redis: Redis,
  stream: string,
  from: string,
  to: string,
  page: (entries: [string, string[]][]) => Promise<void> | void,
): Promise<void> {
  let cursor = from;
  for (;;) {
    const entries = (await redis.xrange(stream, cursor, to, "COUNT", PAGE)) as [string, string[]][];
    if (entries.length) await page(entries);
    if (entries.length < PAGE) return;
    cursor = `(${(entries[entries.length - 1] as [string, string[]])[0]}`;
  }
}

/**
 * Brings a fresh detector to the state its group left: the first unprocessed entry B is the group's oldest pending
 * entry, else the one after its last delivered id. Entries of the last `windowMs` before B are applied without
 * detection (they were detected before), then the pending entries up to the last delivered id are detected,
 * recorded and acked, in stream order. After this the live consumer continues with new entries, so every fix is
 * detected against exactly the state the stream order defines. Resolves with the counts of both phases.
 */
export async function recoverDetector(opts: RecoveryOptions): Promise<{ rebuilt: number; replayed: number }> {
  const { redis, stream, group } = opts;
  try {
    await redis.call("XGROUP", "CREATE", stream, group, "0", "MKSTREAM");
  } catch (err) {
    if (!String(err).includes("BUSYGROUP")) throw err;
  }
  const info = (await redis.call("XINFO", "GROUPS", stream)) as unknown[][];
  let lastDelivered = "0-0";
  for (const g of info) {
    const at = g.indexOf("name");
    if (g[at + 1] !== group) continue;
    lastDelivered = String(g[g.indexOf("last-delivered-id") + 1]);
  }
  const [pending, minPending] = (await redis.xpending(stream, group)) as [number, string | null];
  const boundary = pending > 0 && minPending ? minPending : nextId(lastDelivered);
  const from = Math.max(0, Math.min(idTime(boundary), Date.now()) - opts.windowMs);
  let rebuilt = 0;
  await scan(redis, stream, `${from}-0`, `(${boundary}`, (entries) => {
    for (const [id, fields] of entries) {
      const m = decode(id, fields);
      if (m) for (const e of m.data) opts.detector.observe(e, false);
      rebuilt++;
    }
  });
  let replayed = 0;
  if (pending > 0) {
    await scan(redis, stream, boundary, lastDelivered, async (entries) => {
      const batch = entries.map(([id, fields]) => decode(id, fields)).filter((m) => m !== undefined);
      await opts.apply(batch);
      await redis.xack(stream, group, ...entries.map(([id]) => id));
      replayed += entries.length;
    });
  }
  return { rebuilt, replayed };
}
