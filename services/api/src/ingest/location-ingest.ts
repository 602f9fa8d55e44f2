import { type LocationEvent, locationEntryPayload, MAX_ENTRY_FIXES } from "@bump/contracts";
import { partitionsFor } from "@bump/geo";
import type { Producer } from "@bump/streams";
import type { EncodedFix } from "./location-event.ts";
import { WriteCoalescer, type WriteCoalescerOptions } from "./write-coalescer.ts";

/**
 * Appends accepted fixes to the `locations` stream. A resolved call means Redis acknowledged every entry holding
 * them; a rejected one (`OverloadedError`, `BusUnavailableError`) means the caller must not answer 202.
 *
 * Fixes without a client id are pre-serialised payloads (no second validation: they were built from checked
 * input) gathered by a {@link WriteCoalescer}: the fixes of every request of one turn go out in one write, as
 * multi-fix entries (`locationEntry`: up to `MAX_ENTRY_FIXES` each, in order; one XADD, or one atomic script call
 * for several entries). Each fix keeps its own id, so consumers stay idempotent per fix. A fix with a client id
 * goes alone in its entry through `Producer.addOnceRaw` keyed by `<user>:<client id>`, so a retried POST within the
 * producer's dedupe window appends nothing and answers the same id.
 *
 * Given one producer per partition (index = partition, more than one), each fix is appended to every partition
 * `partitionsFor(fix.cell, partitions)` names, so a fix near a region border reaches each detector that may pair
 * it; with a single producer every fix goes to that one stream.
 */
export class LocationIngest {
  private readonly producers: readonly Producer<LocationEvent>[];
  private readonly coalescers: readonly WriteCoalescer[];

  constructor(
    producers: Producer<LocationEvent> | readonly Producer<LocationEvent>[],
    opts: WriteCoalescerOptions = {},
  ) {
    this.producers = Array.isArray(producers) ? producers : [producers as Producer<LocationEvent>];
    if (this.producers.length === 0) throw new Error("LocationIngest needs at least one producer");
    this.coalescers = this.producers.map((p) => new WriteCoalescer((payloads) => appendEntries(p, payloads), opts));
  }

  /** Appends `fixes` of `userId`; resolves with their message ids, in order. */
  async publish(userId: string, fixes: readonly EncodedFix[]): Promise<string[]> {
    await this.append(userId, fixes);
    return fixes.map((f) => f.id);
  }

  /**
   * Appends `fixes` of `userId` ({@link publish} without building the ids): resolves once Redis acknowledged every
   * one; throws or rejects (`OverloadedError`, `BusUnavailableError`) otherwise.
   */
  append(userId: string, fixes: readonly EncodedFix[]): Promise<unknown> {
    const n = this.producers.length;
    if (n === 1) return this.appendTo(0, userId, fixes);
    const byPartition: EncodedFix[][] = Array.from({ length: n }, () => []);
    for (const f of fixes) for (const p of partitionsFor(f.cell, n)) byPartition[p]?.push(f);
    for (let p = 0; p < n; p++) if ((byPartition[p]?.length ?? 0) > 0) this.producers[p]?.assertAccepting();
    return Promise.all(byPartition.map((part, p) => (part.length > 0 ? this.appendTo(p, userId, part) : undefined)));
  }

  /** {@link append} of one fix (no array per request on a single partition). */
  appendOne(userId: string, fix: EncodedFix): Promise<unknown> {
    return this.producers.length === 1 ? this.appendTo(0, userId, fix) : this.append(userId, [fix]);
  }

  /** Appends `fixes` (or the one fix) to `partition`. */
  private appendTo(partition: number, userId: string, fixes: readonly EncodedFix[] | EncodedFix): Promise<unknown> {
    const producer = this.producers[partition] as Producer<LocationEvent>;
    const coalescer = this.coalescers[partition] as WriteCoalescer;
    producer.assertAccepting();
    if (!Array.isArray(fixes)) {
      const f = fixes as EncodedFix;
      return f.fromClient ? producer.addOnceRaw(`${userId}:${f.id}`, f.payload) : coalescer.writeOne(f.payload);
    }
    let plain: string[] | undefined;
    let once: Promise<unknown>[] | undefined;
    for (const f of fixes) {
      if (f.fromClient) {
        once ??= [];
        once.push(producer.addOnceRaw(`${userId}:${f.id}`, f.payload));
      } else {
        plain ??= [];
        plain.push(f.payload);
      }
    }
    if (once === undefined) return plain ? coalescer.write(plain) : Promise.resolve();
    if (plain) once.push(coalescer.write(plain));
    return Promise.all(once);
  }
}

/** Appends `payloads` (serialised fixes) as entries of up to `MAX_ENTRY_FIXES` fixes, in order, atomically. */
function appendEntries(producer: Producer<LocationEvent>, payloads: readonly string[]): Promise<unknown> {
  // the overload limit counts fixes: an entry of 200 fixes weighs 200 in the backlog
  if (payloads.length <= MAX_ENTRY_FIXES) return producer.addRaw([locationEntryPayload(payloads)], payloads.length);
  const entries: string[] = [];
  for (let i = 0; i < payloads.length; i += MAX_ENTRY_FIXES)
    entries.push(locationEntryPayload(payloads.slice(i, i + MAX_ENTRY_FIXES)));
  return producer.appendMany(entries, payloads.length);
}
