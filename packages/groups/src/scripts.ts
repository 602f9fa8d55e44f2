import type { RedisClient as Redis } from "@bump/streams";
import acquireDrain from "./lua/acquireDrain-2.lua" with { type: "text" };
import acquirePass from "./lua/acquirePass-3.lua" with { type: "text" };
import commitPass from "./lua/commitPass-3.lua" with { type: "text" };
import recordPass from "./lua/recordPass-2.lua" with { type: "text" };
import releaseDrain from "./lua/releaseDrain-2.lua" with { type: "text" };

/** The group Lua scripts as typed commands on a connection. */
export interface GroupScripts {
  acquireDrain(lock: string, dirty: string, token: string, ttlMs: number): Promise<number>;
  acquirePass(
    lock: string,
    dirty: string,
    cursor: string,
    token: string,
    ttlMs: number,
    done: number,
    plan: string,
  ): Promise<number>;
  releaseDrain(lock: string, dirty: string, token: string, ttlMs: number, force: 0 | 1): Promise<number>;
  recordPass(cursor: string, lock: string, token: string, plan: string, ttlMs: number): Promise<number>;
  commitPass(
    cursor: string,
    lock: string,
    dirty: string,
    token: string,
    hi: number,
    messages: number,
    frames: number,
    bursts: number,
    ttlMs: number,
    next: string,
    release: 0 | 1,
  ): Promise<number>;
}

const defined = new WeakSet<Redis>();

/** Registers the scripts on `redis` once (EVALSHA with EVAL fallback) and returns it typed with them. */
export function withGroupScripts(redis: Redis): Redis & GroupScripts {
  if (!defined.has(redis)) {
    redis.defineCommand("acquireDrain", { numberOfKeys: 2, lua: acquireDrain });
    redis.defineCommand("acquirePass", { numberOfKeys: 3, lua: acquirePass });
    redis.defineCommand("releaseDrain", { numberOfKeys: 2, lua: releaseDrain });
    redis.defineCommand("recordPass", { numberOfKeys: 2, lua: recordPass });
    redis.defineCommand("commitPass", { numberOfKeys: 3, lua: commitPass });
    defined.add(redis);
  }
  return redis as Redis & GroupScripts;
}
