import { AuthError, type Jwt, type Role } from "@bump/auth";
import type { MiddlewareHandler } from "hono";
import type { ApiEnv } from "../context.ts";
import { HttpError } from "../errors/http-error.ts";

/**
 * Requires `Authorization: Bearer <jwt>` and puts the verified identity in `c.get("identity")`. A missing,
 * malformed, badly signed or expired token throws `AuthError` (answered 401 `unauthorized`). Verified tokens are
 * cached by `@bump/auth`, so a repeat request costs one map lookup.
 */
export function bearerAuth(jwt: Jwt): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const header = c.req.raw.headers.get("authorization");
    if (!header) throw new AuthError("missing bearer token");
    const space = header.indexOf(" ");
    if (space < 0 || header.slice(0, space).toLowerCase() !== "bearer") throw new AuthError("missing bearer token");
    c.set("identity", await jwt.verify(header.slice(space + 1).trim()));
    await next();
  };
}

/** Lets the request through only when the caller's token grants `role`; otherwise 403 `forbidden`. */
export function requireRole(role: Role): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    if (!c.get("identity").roles.includes(role)) throw new HttpError("forbidden", `requires the ${role} role`);
    await next();
  };
}
