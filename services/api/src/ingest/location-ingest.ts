import type { LocationEvent } from "@bump/contracts";
import type { Producer } from "@bump/streams";

/**
 * Appends accepted fixes to the `locations` stream. A resolved call means Redis acknowledged every entry; a
 * rejected one (`OverloadedError`, `BusUnavailableError`) means the caller must not answer 202.
 *
 * Idempotency: a fix with a client id is appended through `Producer.addOnce` keyed by `<user>:<client id>`, so a
 * retried POST within the producer's dedupe window appends nothing and answers the same id. Fixes without one
 * are appended in one pipeline without a second validation (they were built from validated input).
 */
export class LocationIngest {
  constructor(private readonly producer: Producer<LocationEvent>) {}

  /** Appends `events` (one round trip for the whole list); resolves with their message ids, in order. */
  async publish(events: readonly LocationEvent[], withClientId: (e: LocationEvent, i: number) => boolean) {
    this.producer.assertAccepting();
    const plain: string[] = [];
    const pending: Promise<unknown>[] = [];
    events.forEach((e, i) => {
      if (withClientId(e, i)) pending.push(this.producer.addOnce(`${e.user_id}:${e.id}`, e));
      else plain.push(JSON.stringify(e));
    });
    if (plain.length) pending.push(this.producer.addRaw(plain));
    await Promise.all(pending);
    return events.map((e) => e.id);
  }
}
