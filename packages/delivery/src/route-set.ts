/**
 * What one delivery flush routes to each gateway, grouped so that a frame goes to a gateway once for all its users
 * there, and the route entries that write it.
 */
import type { SlotBatch } from "@bump/streams";
import type { DeliveryKeys } from "./keys.ts";
import { encodeRouted, encodeRoutedMany, encodeVolatileMany, type RoutedFrame } from "./route.ts";

/**
 * Most frames in one route entry; a larger flush writes several entries to that gateway. A gateway blocked on its
 * stream wakes on the first entry of a flush, so a flush usually fits one entry: the gateway then gets all of it in
 * one read, and a socket all its frames in one write.
 */
export const ROUTE_ENTRY_FRAMES = 20_000;

/**
 * One frame routed to several users on one gateway in one field: reliable (`text` without offset, `users` holding
 * `<user> <offset>` each) or volatile (`users` holding user ids, `key` the coalescing key).
 */
interface Group {
  volatile: boolean;
  key: string;
  text: string;
  users: string[];
}

/** What one flush routes to one gateway: single frames (nudges) and groups. */
interface Route {
  frames: RoutedFrame[];
  groups: Group[];
}

/**
 * The routes of one flush by gateway. Within one script's reply (whose users come in batch item order) the frames
 * of one batch item to one gateway share a group, in the reply's order.
 */
export class RouteSet {
  readonly byGateway = new Map<string, Route>();
  private open = new Map<string, Group>();
  private openFor = -1;

  /** What goes to gateway `g`. */
  of(g: string): Route {
    let r = this.byGateway.get(g);
    if (!r) {
      r = { frames: [], groups: [] };
      this.byGateway.set(g, r);
    }
    return r;
  }

  /** Starts the groups of the next script reply. */
  next(): void {
    this.open = new Map();
    this.openFor = -1;
  }

  /**
   * Routes frame `text` of batch item `p` to gateway `g` for one user (`entry`, as {@link Group.users} holds):
   * volatile with coalescing key `key` (possibly ""), or reliable when `key` is null.
   */
  add(g: string, p: number, text: string, key: string | null, entry: string): void {
    if (this.openFor !== p) {
      this.open = new Map();
      this.openFor = p;
    }
    let group = this.open.get(g);
    if (!group) {
      group = { volatile: key !== null, key: key ?? "", text, users: [] };
      this.open.set(g, group);
      this.of(g).groups.push(group);
    }
    group.users.push(entry);
  }

  /**
   * Queues the route entries on `out`: per gateway, XADDs of at most {@link ROUTE_ENTRY_FRAMES} frames each (single
   * frames first, then groups, in order) and one PEXPIRE.
   */
  queue(out: SlotBatch, keys: DeliveryKeys, maxLen: number, ttlMs: number): void {
    for (const [g, r] of this.byGateway) {
      const key = keys.gateway(g);
      let fields: string[] = [];
      let count = 0;
      const add = (name: string, value: string, n: number) => {
        if (count + n > ROUTE_ENTRY_FRAMES && fields.length) {
          out.for(key).xadd(key, "MAXLEN", "~", maxLen, "*", ...fields);
          fields = [];
          count = 0;
        }
        fields.push(name, value);
        count += n;
      };
      for (const f of r.frames) {
        const [name, value] = encodeRouted(f);
        add(name, value, 1);
      }
      for (const grp of r.groups) {
        for (let j = 0; j < grp.users.length; j += ROUTE_ENTRY_FRAMES) {
          const part = grp.users.slice(j, j + ROUTE_ENTRY_FRAMES);
          const [name, value] = grp.volatile
            ? encodeVolatileMany(part, grp.key, grp.text)
            : encodeRoutedMany(part, grp.text);
          add(name, value, part.length);
        }
      }
      if (fields.length) out.for(key).xadd(key, "MAXLEN", "~", maxLen, "*", ...fields);
      out.for(key).pexpire(key, ttlMs);
    }
  }
}
