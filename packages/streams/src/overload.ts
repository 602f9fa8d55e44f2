import type { RedisClient as Redis } from "./connection.ts";

/** Backlog of one consumer group: entries not yet delivered plus delivered but not acked. */
export interface GroupBacklog {
  group: string;
  consumers: number;
  pending: number;
  /** Entries added after the group's last delivered id; null when Redis cannot tell. */
  lag: number | null;
  lastDeliveredId: string;
}

function toMap(flat: unknown[]): Record<string, unknown> {
  const m: Record<string, unknown> = {};
  for (let i = 0; i < flat.length; i += 2) m[String(flat[i])] = flat[i + 1];
  return m;
}

/** Reads every group of `stream` (XINFO GROUPS; lag needs Redis 7.0+). Empty when the stream does not exist. */
export async function groupBacklogs(redis: Redis, stream: string): Promise<GroupBacklog[]> {
  let rows: unknown[];
  try {
    rows = (await redis.call("XINFO", "GROUPS", stream)) as unknown[];
  } catch (err) {
    if (String(err).includes("no such key")) return [];
    throw err;
  }
  return rows.map((r) => {
    const m = toMap(r as unknown[]);
    return {
      group: String(m.name),
      consumers: Number(m.consumers ?? 0),
      pending: Number(m.pending ?? 0),
      lag: m.lag === null || m.lag === undefined ? null : Number(m.lag),
      lastDeliveredId: String(m["last-delivered-id"] ?? "0-0"),
    };
  });
}

/** The largest backlog (lag + pending) over the groups of `stream`; XLEN stands in for an unknown lag. */
export async function streamBacklog(redis: Redis, stream: string): Promise<number> {
  const groups = await groupBacklogs(redis, stream);
  if (groups.length === 0) return 0;
  let len: number | undefined;
  let worst = 0;
  for (const g of groups) {
    let lag = g.lag;
    if (lag === null) {
      len ??= await redis.xlen(stream);
      lag = len;
    }
    worst = Math.max(worst, lag + g.pending);
  }
  return worst;
}

/** Options of {@link OverloadMonitor}. */
export interface OverloadOptions {
  /**
   * Backlog above which producers refuse work. Default 100,000 items: entries, or, for a stream whose producers
   * report what their entries hold ({@link OverloadMonitor.noteItems}), the items they stand for.
   */
  maxBacklog?: number;
  /** How often the backlog is read. Default 250 ms. */
  intervalMs?: number;
}

/**
 * Watches the backlog of some streams and answers, without a Redis round trip, whether a producer should refuse
 * work. While Redis cannot be read the last known state stands.
 */
export class OverloadMonitor {
  private readonly overloaded = new Set<string>();
  /** Per stream, the items and entries this process appended lately (halved at every refresh). */
  private readonly written = new Map<string, { items: number; entries: number }>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly maxBacklog: number;
  private readonly intervalMs: number;

  constructor(
    private readonly redis: Redis,
    private readonly streams: readonly string[],
    opts: OverloadOptions = {},
  ) {
    this.maxBacklog = opts.maxBacklog ?? 100_000;
    this.intervalMs = opts.intervalMs ?? 250;
  }

  /** Reads the backlogs once now, then every interval. */
  async start(): Promise<void> {
    await this.refresh();
    this.timer ??= setInterval(() => void this.refresh(), this.intervalMs);
  }

  /** Reads every watched stream's backlog now. */
  async refresh(): Promise<void> {
    await Promise.all(
      this.streams.map(async (s) => {
        try {
          const backlog = (await streamBacklog(this.redis, s)) * this.itemsPerEntry(s);
          if (backlog > this.maxBacklog) this.overloaded.add(s);
          else this.overloaded.delete(s);
        } catch {
          // keep the last known state
        }
      }),
    );
  }

  /**
   * Records that `entries` entries holding `items` items were appended to `stream`, so a backlog of entries that
   * each hold many items (a batch in one entry) is weighed by what it holds, not by its count of entries.
   */
  noteItems(stream: string, entries: number, items: number): void {
    const w = this.written.get(stream);
    if (w) {
      w.items += items;
      w.entries += entries;
    } else this.written.set(stream, { items, entries });
  }

  /** Items per entry lately appended to `stream` by this process (1 when it reported none); decays each read. */
  private itemsPerEntry(stream: string): number {
    const w = this.written.get(stream);
    if (!w || w.entries === 0) return 1;
    const ratio = Math.max(1, w.items / w.entries);
    // the last few intervals weigh most: a burst of large entries is remembered, then fades
    w.items /= 2;
    w.entries /= 2;
    return ratio;
  }

  /** True when `stream`'s consumers lag past the limit. */
  isOverloaded(stream: string): boolean {
    return this.overloaded.has(stream);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
