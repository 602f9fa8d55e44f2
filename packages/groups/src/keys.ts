/**
 * Every Redis key of group messaging, built in one place. A group's fan-out cursor, lock and dirty flag share the
 * hash tag `{g:<id>}`, so each script touches one Redis Cluster slot. The `groups` bus stream is one shared stream
 * (keys from `@bump/streams`) that only wakes the fan-out.
 */
import { type StreamKeys, streamKeys } from "@bump/streams";

/** Name of the shared bus stream announcing stored group messages. */
export const GROUPS_STREAM = "groups";

/** Consumer group of the fan-out on {@link GROUPS_STREAM}. */
export const FANOUT_GROUP = "group-fanout";

/** The keys of one group, all in the group's slot. */
export interface GroupKeys {
  /** Hash: `done` (highest seq fanned out), `unit` (`lo:hi` in flight), `messages`, `bursts`, `frames`. */
  readonly cursor: string;
  /** The fan-out lock: the owner's token with a TTL. */
  readonly lock: string;
  /** Set while the lock is held when someone else wanted to drain: the holder drains once more. */
  readonly dirty: string;
}

/** The key builders of one namespace. */
export interface GroupsKeys {
  readonly ns: string;
  group(groupId: string): GroupKeys;
  /** Keys of the shared `groups` bus stream. */
  readonly stream: StreamKeys;
}

/** Builds the group keys under namespace `ns` (empty in production; tests use one each). */
export function groupsKeys(ns = ""): GroupsKeys {
  const pre = ns ? `${ns}:` : "";
  return {
    ns,
    group(groupId) {
      const tag = `{${pre}g:${groupId}}`;
      return { cursor: `${tag}:fan`, lock: `${tag}:lock`, dirty: `${tag}:dirty` };
    },
    stream: streamKeys(GROUPS_STREAM, ns ? { ns } : {}),
  };
}
