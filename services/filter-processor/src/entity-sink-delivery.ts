import type { Delivery } from "@bump/delivery";
import type { EntitySink } from "./entity-sink.ts";

/** Frames go to the users' gateways as volatile frames through `@bump/delivery` (coalesced per key on slow sockets). */
export class DeliveryEntitySink implements EntitySink {
  constructor(private readonly delivery: Delivery) {}

  async deliver(users: readonly string[], frame: string, coalesceKey: string): Promise<void> {
    await this.delivery.deliver(users, frame, { reliable: false, coalesceKey });
  }
}
