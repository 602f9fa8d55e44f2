import { createHmac, timingSafeEqual } from "node:crypto";
import { AuthError } from "./auth-error.ts";

/** Roles a token may grant. `publisher` writes entities; `admin` uses `/v1/admin/*`. */
export type Role = "admin" | "publisher";

/** Who a verified token speaks for. The user id always comes from here, never from a body. */
export interface Identity {
  readonly userId: string;
  readonly roles: readonly Role[];
  /** Expiry, seconds since the epoch. */
  readonly exp: number;
}

const userIdPattern = /^[A-Za-z0-9_.:-]{1,64}$/;
const enc = new TextEncoder();

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64url");
}

function decodeJson(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
  } catch {
    throw new AuthError("malformed token");
  }
}

/** Options of {@link createJwt}. */
export interface JwtOptions {
  /** Verified tokens remembered until they expire, to skip the HMAC on repeat requests. Default 10,000. */
  cacheSize?: number;
  /** The clock expiry is judged by, epoch ms. Default `Date.now`. */
  now?: () => number;
}

/** HS256 JSON Web Tokens with the claims of the public contract: `sub`, `exp` (required) and `roles`. */
export interface Jwt {
  /** Signs a token for `userId` valid for `ttlSeconds` (default 1 h). */
  sign(userId: string, opts?: { roles?: Role[]; ttlSeconds?: number }): Promise<string>;
  /** Verifies signature, expiry and claims; rejects with {@link AuthError} otherwise. */
  verify(token: string): Promise<Identity>;
  /**
   * {@link Jwt.verify} without a promise: returns the identity or throws {@link AuthError}. A token verified
   * before (the last `cacheSize` are remembered) costs one map lookup and an expiry check.
   */
  verifySync(token: string): Identity;
}

/** Creates a signer/verifier for `secret` (>= 32 bytes). */
export function createJwt(secret: string, opts: JwtOptions = {}): Jwt {
  const key = enc.encode(secret);
  if (key.length < 32) throw new Error("AUTH_SECRET must be at least 32 bytes");
  const cacheSize = opts.cacheSize ?? 10_000;
  const clock = opts.now ?? Date.now;
  const cache = new Map<string, Identity>();
  const header = b64url(enc.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));
  const mac = (signed: string) => createHmac("sha256", key).update(signed).digest();

  const verifySync = (token: string): Identity => {
    const now = clock() / 1000;
    const hit = cache.get(token);
    if (hit !== undefined) {
      if (hit.exp > now) return hit;
      cache.delete(token);
      throw new AuthError("token expired");
    }
    const parts = token.split(".");
    if (parts.length !== 3) throw new AuthError("malformed token");
    const [h, p, s] = parts as [string, string, string];
    const head = decodeJson(h) as { alg?: unknown };
    if (head?.alg !== "HS256") throw new AuthError("unsupported token algorithm");
    const expected = mac(`${h}.${p}`);
    const sig = Buffer.from(s, "base64url");
    if (sig.length !== expected.length || !timingSafeEqual(sig, expected)) throw new AuthError("bad token signature");
    const claims = decodeJson(p) as { sub?: unknown; exp?: unknown; roles?: unknown };
    if (typeof claims.sub !== "string" || !userIdPattern.test(claims.sub)) throw new AuthError("invalid sub claim");
    if (typeof claims.exp !== "number" || !Number.isFinite(claims.exp)) throw new AuthError("missing exp claim");
    if (claims.exp <= now) throw new AuthError("token expired");
    let roles: Role[] = [];
    if (claims.roles !== undefined) {
      if (!Array.isArray(claims.roles) || !claims.roles.every((r) => r === "admin" || r === "publisher"))
        throw new AuthError("invalid roles claim");
      roles = claims.roles as Role[];
    }
    const identity: Identity = { userId: claims.sub, roles, exp: claims.exp };
    if (cache.size >= cacheSize) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    cache.set(token, identity);
    return identity;
  };

  return {
    async sign(userId, o = {}) {
      if (!userIdPattern.test(userId)) throw new AuthError("invalid user id");
      const payload: Record<string, unknown> = {
        sub: userId,
        exp: Math.floor(clock() / 1000) + (o.ttlSeconds ?? 3600),
      };
      if (o.roles?.length) payload.roles = o.roles;
      const body = `${header}.${b64url(enc.encode(JSON.stringify(payload)))}`;
      return `${body}.${b64url(mac(body))}`;
    },
    async verify(token) {
      return verifySync(token);
    },
    verifySync,
  };
}
