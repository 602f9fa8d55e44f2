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
  /** Backlog above which producers refuse work. Default 100,000 entries. */
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
          const backlog = await streamBacklog(this.redis, s);
          if (backlog > this.maxBacklog) this.overloaded.add(s);
          else this.overloaded.delete(s);
        } catch {
          // keep the last known state
        }
      }),
    );
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
