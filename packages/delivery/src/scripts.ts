import type { RedisClient as Redis } from "@bump/streams";
import appendFrames from "./lua/appendFrames-n.lua" with { type: "text" };
import gatewaysNote from "./lua/gatewaysNote.lua" with { type: "text" };
import lookupGateways from "./lua/lookupGateways-n.lua" with { type: "text" };
import markPresence from "./lua/markPresence-n.lua" with { type: "text" };
import readSince from "./lua/readSince-2.lua" with { type: "text" };

/** The delivery Lua scripts as typed commands on a connection (and its pipelines). */
export interface DeliveryScripts {
  /** `numKeys` = one per user (its meta key); see the script's header for the arguments and the reply. */
  appendFrames(numKeys: number, ...args: (string | number)[]): Promise<string>;
  /** `numKeys` = one per user (its presence key); one line of space-separated gateway ids per user. */
  lookupGateways(numKeys: number, ...keys: string[]): Promise<string>;
  /**
   * `numKeys` = two per user (its presence zset, then its meta): registers `gateway` for each until `expiresAt` (ms;
   * "" removes it) and notes each user's live gateways in the meta.
   */
  markPresence(numKeys: number, ...args: (string | number)[]): Promise<number>;
  readSince(
    meta: string,
    history: string,
    since: number,
    windowMs: number,
    limit: number,
  ): Promise<(string | number)[]>;
}

const defined = new WeakSet<Redis>();

/** Registers the scripts on `redis` once (EVALSHA with EVAL fallback) and returns it typed with them. */
export function withDeliveryScripts(redis: Redis): Redis & DeliveryScripts {
  if (!defined.has(redis)) {
    // both note a user's live gateways in its meta hash the same way: the function is put in front of each
    redis.defineCommand("appendFrames", { lua: `${gatewaysNote}\n${appendFrames}` });
    redis.defineCommand("lookupGateways", { lua: lookupGateways });
    redis.defineCommand("markPresence", { lua: `${gatewaysNote}\n${markPresence}` });
    redis.defineCommand("readSince", { numberOfKeys: 2, lua: readSince });
    defined.add(redis);
  }
  return redis as Redis & DeliveryScripts;
}
