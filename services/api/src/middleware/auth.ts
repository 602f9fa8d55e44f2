import { AuthError, type Jwt, type Role } from "@bump/auth";
import type { MiddlewareHandler } from "hono";
import type { ApiEnv } from "../context.ts";
import { HttpError } from "../errors/http-error.ts";

/** The token of an `Authorization: Bearer <jwt>` header (scheme in any case); throws `AuthError` otherwise. */
export function bearerToken(header: string | null): string {
  if (!header || (!header.startsWith("Bearer ") && header.slice(0, 7).toLowerCase() !== "bearer "))
    throw new AuthError("missing bearer token");
  return header.slice(7).trim();
}

/**
 * Requires `Authorization: Bearer <jwt>` and puts the verified identity in `c.get("identity")`. A missing,
 * malformed, badly signed or expired token throws `AuthError` (answered 401 `unauthorized`). Verified tokens are
 * cached by `@bump/auth`, so a repeat request costs one map lookup.
 */
export function bearerAuth(jwt: Jwt): MiddlewareHandler<ApiEnv> {
  return (c, next) => {
    c.set("identity", jwt.verifySync(bearerToken(c.req.raw.headers.get("authorization"))));
    return next();
  };
}

/** Lets the request through only when the caller's token grants `role`; otherwise 403 `forbidden`. */
export function requireRole(role: Role): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    if (!c.get("identity").roles.includes(role)) throw new HttpError("forbidden", `requires the ${role} role`);
    await next();
  };
}
