import { type BumpEvent, type BumpFrame, bumpEvent } from "@bump/contracts";
import type { Logger, Registry } from "@bump/service";
import type { RedisClient as Redis } from "@bump/streams";
import { Consumer, type Message, streamKeys, streamNames } from "@bump/streams";
import type { Delivery } from "./delivery.ts";

/** Options of {@link startBumpDelivery}. */
export interface BumpDeliveryOptions {
  redis: Redis;
  delivery: Delivery;
  /** Stream namespace (tests). Default none. */
  ns?: string;
  /** Consumer group. Default `bump-delivery`. */
  group?: string;
  registry?: Registry;
  logger?: Logger;
}

/** The `bump` frame (without offset) that `user` sees for `bump`. */
export function bumpFrameFor(bump: BumpEvent, user: string): Omit<BumpFrame, "offset"> {
  const other = user === bump.user_a ? bump.user_b : bump.user_a;
  return {
    type: "bump",
    bump: {
      id: bump.id,
      user_id: user,
      other_user_id: other,
      distance_m: bump.distance_m,
      latitude: bump.latitude,
      longitude: bump.longitude,
      at: new Date(bump.at).toISOString(),
    },
  };
}

/**
 * Consumes the `bumps` stream (group `bump-delivery`) and delivers a reliable `bump` frame to both users. The
 * frame id is `bump:<id>`, per user, so a redelivered bump keeps its offset and is shown once. Resolves once
 * the group's loop runs; call `close()` on the result to stop it.
 */
export async function startBumpDelivery(opts: BumpDeliveryOptions): Promise<Consumer<BumpEvent>> {
  const consumer = new Consumer<BumpEvent>({
    redis: opts.redis,
    keys: streamKeys(streamNames.bumps, opts.ns ? { ns: opts.ns } : {}),
    group: opts.group ?? "bump-delivery",
    schema: bumpEvent,
    blockMs: 500,
    trimIntervalMs: 0,
    ...(opts.registry ? { registry: opts.registry } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
    handler: async (batch: Message<BumpEvent>[]) => {
      const failed: { message: Message<BumpEvent>; error: unknown }[] = [];
      await Promise.all(
        batch.map(async (m) => {
          const b = m.data;
          try {
            await Promise.all(
              [b.user_a, b.user_b].map((u) =>
                opts.delivery.deliver([u], bumpFrameFor(b, u), { reliable: true, id: `bump:${b.id}` }),
              ),
            );
          } catch (error) {
            failed.push({ message: m, error });
          }
        }),
      );
      return { failed };
    },
  });
  await consumer.start();
  return consumer;
}
