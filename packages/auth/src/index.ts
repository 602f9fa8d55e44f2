/** Bearer-token identity: HS256 JWTs with `sub`, `exp` and optional `roles`, as the public contract defines. */
export { AuthError } from "./auth-error.ts";
export { createJwt, type Identity, type Jwt, type JwtOptions, type Role } from "./jwt.ts";
