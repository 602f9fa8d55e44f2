import type { RedisClient as Redis } from "./connection.ts";
import addOnce from "./lua/addOnce-2.lua" with { type: "text" };
import appendJoined from "./lua/appendJoined-1.lua" with { type: "text" };
import appendMany from "./lua/appendMany-1.lua" with { type: "text" };
import moveDue from "./lua/moveDue-2.lua" with { type: "text" };
import replayDead from "./lua/replayDead-2.lua" with { type: "text" };
import retryOrBury from "./lua/retryOrBury-3.lua" with { type: "text" };

/** The bus's Lua scripts as typed commands on a connection. */
export interface StreamScripts {
  retryOrBury(source: string, retrySet: string, dlq: string, ...argv: (string | number)[]): Promise<number>;
  moveDue(retrySet: string, retryStream: string, now: number, limit: number): Promise<[number, number]>;
  replayDead(dlq: string, retryStream: string, id: string): Promise<number>;
  addOnce(stream: string, dedupeKey: string, cap: number, payload: string, windowS: number): Promise<[string, number]>;
  appendMany(stream: string, cap: number, ...payloads: string[]): Promise<string[]>;
  appendJoined(stream: string, cap: number, count: number, joined: string): Promise<string>;
}

const defined = new WeakSet<Redis>();

/**
 * Registers the scripts on `redis` once (EVALSHA with a fallback to EVAL, so a restarted Redis reloads them)
 * and returns the connection typed with them.
 */
export function withScripts(redis: Redis): Redis & StreamScripts {
  if (!defined.has(redis)) {
    redis.defineCommand("retryOrBury", { numberOfKeys: 3, lua: retryOrBury });
    redis.defineCommand("moveDue", { numberOfKeys: 2, lua: moveDue });
    redis.defineCommand("replayDead", { numberOfKeys: 2, lua: replayDead });
    redis.defineCommand("addOnce", { numberOfKeys: 2, lua: addOnce });
    redis.defineCommand("appendMany", { numberOfKeys: 1, lua: appendMany });
    redis.defineCommand("appendJoined", { numberOfKeys: 1, lua: appendJoined });
    defined.add(redis);
  }
  return redis as Redis & StreamScripts;
}
