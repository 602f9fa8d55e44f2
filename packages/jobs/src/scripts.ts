import type { RedisClient as Redis } from "@bump/streams";
import addJob from "./lua/addJob-5.lua" with { type: "text" };
import cancelJob from "./lua/cancelJob-4.lua" with { type: "text" };
import promoteDelayed from "./lua/promoteDelayed-2.lua" with { type: "text" };
import replayJobs from "./lua/replayJobs-3.lua" with { type: "text" };
import requeueJobs from "./lua/requeueJobs-1.lua" with { type: "text" };
import resumeQueue from "./lua/resumeQueue-3.lua" with { type: "text" };
import takeJobs from "./lua/takeJobs-7.lua" with { type: "text" };

type Arg = string | number;

/**
 * The reply of `takeJobs`: a digit per outcome sent, five space-separated tokens per entry handled (code, job id,
 * entry, priority, attempt), how many wanted were not found, then data and owner of each job started.
 */
export type TakeReply = [string, string, number, ...string[]];

/** The job engine's Lua scripts as typed commands on a connection. */
export interface JobScripts {
  addJob(
    job: string,
    idem: string,
    stream: string,
    delayed: string,
    counts: string,
    ...argv: Arg[]
  ): Promise<[string, number]>;
  promoteDelayed(
    delayed: string,
    counts: string,
    prefix: string,
    now: number,
    limit: number,
  ): Promise<[number, number]>;
  takeJobs(
    counts: string,
    paused: string,
    held: string,
    delayed: string,
    completed: string,
    failed: string,
    dlq: string,
    ...argv: Arg[]
  ): Promise<TakeReply>;
  requeueJobs(counts: string, ...argv: Arg[]): Promise<number>;
  resumeQueue(paused: string, held: string, counts: string, prefix: string): Promise<number>;
  replayJobs(counts: string, failed: string, dlq: string, ...argv: Arg[]): Promise<number>;
  cancelJob(
    counts: string,
    delayed: string,
    failed: string,
    cancelled: string,
    prefix: string,
    id: string,
    now: number,
  ): Promise<"cancelled" | "cancelling" | "not_found" | "finished">;
}

const defined = new WeakSet<Redis>();

/**
 * Registers the scripts on `redis` once (EVALSHA with a fallback to EVAL, so a restarted Redis reloads them)
 * and returns the connection typed with them.
 */
export function withJobScripts(redis: Redis): Redis & JobScripts {
  if (!defined.has(redis)) {
    redis.defineCommand("addJob", { numberOfKeys: 5, lua: addJob });
    redis.defineCommand("promoteDelayed", { numberOfKeys: 2, lua: promoteDelayed });
    redis.defineCommand("takeJobs", { numberOfKeys: 7, lua: takeJobs });
    redis.defineCommand("requeueJobs", { numberOfKeys: 1, lua: requeueJobs });
    redis.defineCommand("resumeQueue", { numberOfKeys: 3, lua: resumeQueue });
    redis.defineCommand("replayJobs", { numberOfKeys: 3, lua: replayJobs });
    redis.defineCommand("cancelJob", { numberOfKeys: 4, lua: cancelJob });
    defined.add(redis);
  }
  return redis as Redis & JobScripts;
}
