/**
 * A worker process for the crash test: runs queue `stall` from `JOBS_NS` on `REDIS_URL`. Jobs with
 * `{hang: false}` complete; a job with `{hang: true}` never finishes, so the test can kill this process with
 * SIGKILL while it holds that job.
 */
import { createRedis } from "@bump/streams";
import { z } from "zod";
import { defineQueue } from "../definition.ts";
import { QueueWorker } from "../worker.ts";

const redis = createRedis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
const def = defineQueue({
  name: "stall",
  schema: z.object({ hang: z.boolean() }),
  timeoutMs: 60_000,
  handler: async (job) => {
    if (job.data.hang) await new Promise(() => {});
    return "crash-worker";
  },
});
await new QueueWorker(redis, def, { ns: process.env.JOBS_NS, pollMs: 20, blockMs: 100 }).start();
console.log("worker ready");
