import type { Identity } from "@bump/auth";

/**
 * The Hono environment of every route: `c.get("identity")` is the verified caller on `/v1/*` (set by the auth
 * middleware before any route runs).
 */
export interface ApiEnv {
  Variables: {
    identity: Identity;
  };
}
