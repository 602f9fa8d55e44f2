import type { Delivery } from "@bump/delivery";
import type { JobNotifier } from "@bump/jobs";

/**
 * Reports job updates to their owners as reliable `job` frames: in the owner's history once the update is
 * recorded, so every socket of the owner sees them in order, live or on resume. A job's outcome (`completed`,
 * `failed`) happens once, so it carries the frame id `<job id>:<state>`: reported again (a retried notify, or a
 * run settled twice after a lost worker) it keeps its offset and is shown once.
 */
export function deliveryNotifier(delivery: Delivery): JobNotifier {
  return async (owner, job) => {
    const final = job.state === "completed" || job.state === "failed";
    await delivery.deliver(
      [owner],
      { type: "job", job },
      final ? { reliable: true, id: `${job.id}:${job.state}` } : { reliable: true },
    );
  };
}
