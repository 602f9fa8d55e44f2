import type Redis from "ioredis";
import appendFrame from "./lua/appendFrame-4.lua" with { type: "text" };
import readSince from "./lua/readSince-2.lua" with { type: "text" };

/** The delivery Lua scripts as typed commands on a connection (and its pipelines). */
export interface DeliveryScripts {
  appendFrame(
    meta: string,
    history: string,
    marker: string,
    presence: string,
    payload: string,
    epoch: string,
    maxLen: number,
    windowMs: number,
    markerTtlS: number,
    retentionMs: number,
  ): Promise<(string | number)[]>;
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
    redis.defineCommand("appendFrame", { numberOfKeys: 4, lua: appendFrame });
    redis.defineCommand("readSince", { numberOfKeys: 2, lua: readSince });
    defined.add(redis);
  }
  return redis as Redis & DeliveryScripts;
}
