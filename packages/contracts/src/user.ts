import { z } from "zod";
import { namePattern } from "./primitives.ts";

/** A user id: 1-64 chars of `[A-Za-z0-9_.:-]`. It always comes from a verified token, never from a body. */
export const userId = z.string().min(1).max(64).regex(namePattern, { error: "expected only [A-Za-z0-9_.:-]" });

/** A user id as typed by {@link userId}. */
export type UserId = z.infer<typeof userId>;

/** Roles a token may grant: `publisher` writes entities; `admin` uses `/v1/admin/*`. */
export const role = z.enum(["admin", "publisher"]);

/** A role as typed by {@link role}. */
export type Role = z.infer<typeof role>;

/**
 * The claims of a bearer JWT (HS256): `sub` is the user id, `exp` the expiry in seconds since the epoch
 * (required), `roles` optional. Other registered claims (`iat`, `iss`, ...) are ignored and stripped.
 * Checking `exp` against the clock is the verifier's job.
 */
export const jwtClaims = z.object({
  sub: userId,
  exp: z.int(),
  roles: z.array(role).max(8).optional(),
});

/** JWT claims as typed by {@link jwtClaims}. */
export type JwtClaims = z.infer<typeof jwtClaims>;
