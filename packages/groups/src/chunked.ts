import type { MessageFrame } from "@bump/contracts";
import type { Delivery } from "@bump/delivery";
import type { FanoutUnit } from "./bursts.ts";
import type { GroupStore } from "./store.ts";

/** The `message` frame of a unit (without `offset`: delivery assigns each member's). */
export function unitFrame(group: string, unit: FanoutUnit): Omit<MessageFrame, "offset"> {
  return { type: "message", group_id: group, messages: [...unit.messages] };
}

/** The frame id of a unit, `g:<group>:<lo>`: per member, a frame with this id is appended to history once. */
export function unitFrameId(group: string, unit: Pick<FanoutUnit, "lo">): string {
  return `g:${group}:${unit.lo}`;
}

/**
 * Delivers the frames of `units` (in order) to `users`: one delivery call per unit, all made together so they share
 * one delivery flush, which appends each user's frames in unit order. Units without messages are skipped.
 * Resolves once every frame is in every user's history; a retry shows each frame once per user (same frame ids).
 */
export async function deliverUnits(
  delivery: Delivery,
  users: readonly string[],
  group: string,
  units: readonly FanoutUnit[],
  texts: readonly string[] = units.map((u) => JSON.stringify(unitFrame(group, u))),
): Promise<void> {
  if (!users.length) return;
  const calls: Promise<unknown>[] = [];
  units.forEach((unit, i) => {
    if (!unit.messages.length) return;
    calls.push(delivery.deliver(users, texts[i] as string, { reliable: true, id: unitFrameId(group, unit) }));
  });
  await Promise.all(calls);
}

/** Options of {@link deliverChunked}. */
export interface ChunkedOptions {
  store: GroupStore;
  delivery: Delivery;
  group: string;
  /** The units of one pass, in seq order; every member gets their frames in this order. */
  units: readonly FanoutUnit[];
  /** Members per delivery round. Default 1,000. */
  chunk?: number;
  /** Members read from the store per query (rounded up to whole chunks); the next page is read ahead. Default 10,000. */
  page?: number;
  /** Chunks in flight at once. Default 4. */
  parallel?: number;
  /** Called after each chunk with the members delivered so far. */
  onChunk?: (delivered: number) => void | Promise<void>;
  signal?: AbortSignal;
}

/**
 * Delivers the frames of a pass's units to every member of a group, reading members page by page (user id order,
 * the next page while the current one is delivered) once per pass and delivering every unit's frame to each chunk
 * of a page in one round. Resolves once every member's history holds every frame, in unit order; a retry after a
 * failure shows each frame once per member (same frame ids). Members added while it runs may or may not get them.
 */
export async function deliverChunked(opts: ChunkedOptions): Promise<number> {
  const chunk = Math.max(1, opts.chunk ?? 1_000);
  const pageSize = Math.max(1, Math.ceil((opts.page ?? 10_000) / chunk)) * chunk;
  const parallel = opts.parallel ?? 4;
  const texts = opts.units.map((u) => JSON.stringify(unitFrame(opts.group, u)));
  const inflight = new Set<Promise<void>>();
  let failure: unknown;
  let delivered = 0;
  const read = (after: string) => opts.store.members(opts.group, after, pageSize);
  let next: Promise<string[]> | undefined = read("");
  while (next) {
    const page: string[] = await next;
    next = page.length === pageSize ? read(page[page.length - 1] as string) : undefined;
    // A read ahead that fails is reported by the next turn; keep it from being an unhandled rejection meanwhile.
    next?.catch(() => {});
    for (let i = 0; i < page.length; i += chunk) {
      opts.signal?.throwIfAborted();
      if (failure) throw failure;
      const part = page.slice(i, i + chunk);
      const p: Promise<void> = deliverUnits(opts.delivery, part, opts.group, opts.units, texts).then(
        async () => {
          delivered += part.length;
          inflight.delete(p);
          try {
            await opts.onChunk?.(delivered);
          } catch (err) {
            failure ??= err;
          }
        },
        (err: unknown) => {
          failure ??= err;
          inflight.delete(p);
        },
      );
      inflight.add(p);
      if (inflight.size >= parallel) await Promise.race(inflight);
    }
  }
  await Promise.all(inflight);
  if (failure) throw failure;
  return delivered;
}
