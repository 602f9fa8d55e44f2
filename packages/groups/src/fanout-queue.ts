import { groupId } from "@bump/contracts";
import type { QueueSpec } from "@bump/jobs";
import { z } from "zod";

/**
 * Data of a `fanout` job: deliver the frames of seqs `lo..hi` of `group_id` to every member, in chunks; `plan`
 * splits them into units (`lo:hi` per unit joined by `,`, as recorded in the group's cursor), absent for one unit.
 */
export const fanoutData = z.strictObject({
  group_id: groupId,
  lo: z.int().positive(),
  hi: z.int().positive(),
  plan: z
    .string()
    .regex(/^\d+:\d+(,\d+:\d+)*$/)
    .optional(),
});

/** Data of a `fanout` job as typed by {@link fanoutData}. */
export type FanoutData = z.infer<typeof fanoutData>;

const hour = 3_600_000;

/**
 * The internal `fanout` queue: one job per pass of a group over GROUP_INLINE_MAX members, progress per chunk.
 * The group's drainer waits for the job before the next pass, so per-group order holds; the idempotency key
 * `<group>:<lo>` makes a drainer that restarts find the same job.
 */
export const fanoutQueueSpec = {
  name: "fanout",
  schema: fanoutData,
  concurrency: 4,
  attempts: 5,
  backoff: { type: "exponential", delayMs: 500, jitter: 0.2, maxDelayMs: 10_000 },
  timeoutMs: 300_000,
  retention: { completed: { count: 1_000, ageMs: hour }, failed: { count: 1_000, ageMs: 7 * 24 * hour } },
} as const satisfies QueueSpec<FanoutData>;
