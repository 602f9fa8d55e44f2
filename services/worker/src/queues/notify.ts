import type { Delivery } from "@bump/delivery";
import type { JobNotifier } from "@bump/jobs";

/**
 * Reports job updates to their owners as reliable `job` frames: in the owner's history once the update is
 * recorded, so every socket of the owner sees them in order, live or on resume.
 */
export function deliveryNotifier(delivery: Delivery): JobNotifier {
  return async (owner, job) => {
    await delivery.deliver([owner], { type: "job", job }, { reliable: true });
  };
}
