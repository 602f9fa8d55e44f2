import type { LocationEvent } from "@bump/contracts";
import type { Producer } from "@bump/streams";
import type { EncodedFix } from "./location-event.ts";
import { WriteCoalescer, type WriteCoalescerOptions } from "./write-coalescer.ts";

/**
 * Appends accepted fixes to the `locations` stream, one entry per fix. A resolved call means Redis acknowledged
 * every entry; a rejected one (`OverloadedError`, `BusUnavailableError`) means the caller must not answer 202.
 *
 * Fixes without a client id are appended as pre-serialised payloads (`Producer.addRaw`, no second validation:
 * they were built from checked input) through a {@link WriteCoalescer}, so concurrent requests share pipelines.
 * A fix with a client id goes through `Producer.addOnce` keyed by `<user>:<client id>`, so a retried POST within
 * the producer's dedupe window appends nothing and answers the same id.
 */
export class LocationIngest {
  private readonly coalescer: WriteCoalescer;

  constructor(
    private readonly producer: Producer<LocationEvent>,
    opts: WriteCoalescerOptions = {},
  ) {
    this.coalescer = new WriteCoalescer((payloads) => producer.addRaw(payloads), opts);
  }

  /** Appends `fixes` of `userId`; resolves with their message ids, in order. */
  async publish(userId: string, fixes: readonly EncodedFix[]): Promise<string[]> {
    this.producer.assertAccepting();
    let plain: string[] | undefined;
    let once: Promise<unknown>[] | undefined;
    for (const f of fixes) {
      if (f.fromClient) {
        once ??= [];
        once.push(this.producer.addOnce(`${userId}:${f.id}`, JSON.parse(f.payload) as LocationEvent));
      } else {
        plain ??= [];
        plain.push(f.payload);
      }
    }
    if (once === undefined) {
      if (plain) await this.coalescer.write(plain);
    } else {
      if (plain) once.push(this.coalescer.write(plain));
      await Promise.all(once);
    }
    return fixes.map((f) => f.id);
  }
}
