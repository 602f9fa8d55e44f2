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

/** Options of {@link deliverChunked}. */
export interface ChunkedOptions {
  store: GroupStore;
  delivery: Delivery;
  group: string;
  unit: FanoutUnit;
  /** Members per page and per delivery call. Default 1,000. */
  chunk?: number;
  /** Chunks in flight at once. Default 4. */
  parallel?: number;
  /** Called after each chunk with the members delivered so far. */
  onChunk?: (delivered: number) => void | Promise<void>;
  signal?: AbortSignal;
}

/**
 * Delivers a unit's frame to every member of a group, reading members page by page (user id order) and delivering
 * each page as one call. Resolves once every member's history holds the frame; a retry after a failure shows it
 * once per member (same frame id). Members added while it runs may or may not get it.
 */
export async function deliverChunked(opts: ChunkedOptions): Promise<number> {
  const chunk = opts.chunk ?? 1_000;
  const parallel = opts.parallel ?? 4;
  const text = JSON.stringify(unitFrame(opts.group, opts.unit));
  const id = unitFrameId(opts.group, opts.unit);
  const inflight = new Set<Promise<void>>();
  let failure: unknown;
  let delivered = 0;
  let after = "";
  for (;;) {
    opts.signal?.throwIfAborted();
    if (failure) throw failure;
    const page = await opts.store.members(opts.group, after, chunk);
    if (!page.length) break;
    after = page[page.length - 1] as string;
    const p: Promise<void> = opts.delivery.deliver(page, text, { reliable: true, id }).then(
      async () => {
        delivered += page.length;
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
    if (page.length < chunk) break;
  }
  await Promise.all(inflight);
  if (failure) throw failure;
  return delivered;
}
