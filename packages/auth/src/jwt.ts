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
}

/** HS256 JSON Web Tokens with the claims of the public contract: `sub`, `exp` (required) and `roles`. */
export interface Jwt {
  /** Signs a token for `userId` valid for `ttlSeconds` (default 1 h). */
  sign(userId: string, opts?: { roles?: Role[]; ttlSeconds?: number }): Promise<string>;
  /** Verifies signature, expiry and claims; throws {@link AuthError} otherwise. */
  verify(token: string): Promise<Identity>;
}

/** Creates a signer/verifier for `secret` (>= 32 bytes). */
export function createJwt(secret: string, opts: JwtOptions = {}): Jwt {
  if (enc.encode(secret).length < 32) throw new Error("AUTH_SECRET must be at least 32 bytes");
  const key = crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
  const cacheSize = opts.cacheSize ?? 10_000;
  const cache = new Map<string, Identity>();
  const header = b64url(enc.encode(JSON.stringify({ alg: "HS256", typ: "JWT" })));

  return {
    async sign(userId, o = {}) {
      if (!userIdPattern.test(userId)) throw new AuthError("invalid user id");
      const payload: Record<string, unknown> = {
        sub: userId,
        exp: Math.floor(Date.now() / 1000) + (o.ttlSeconds ?? 3600),
      };
      if (o.roles?.length) payload.roles = o.roles;
      const body = `${header}.${b64url(enc.encode(JSON.stringify(payload)))}`;
      const sig = new Uint8Array(await crypto.subtle.sign("HMAC", await key, enc.encode(body)));
      return `${body}.${b64url(sig)}`;
    },
    async verify(token) {
      const now = Date.now() / 1000;
      const hit = cache.get(token);
      if (hit) {
        if (hit.exp > now) return hit;
        cache.delete(token);
        throw new AuthError("token expired");
      }
      const parts = token.split(".");
      if (parts.length !== 3) throw new AuthError("malformed token");
      const [h, p, s] = parts as [string, string, string];
      const head = decodeJson(h) as { alg?: unknown };
      if (head?.alg !== "HS256") throw new AuthError("unsupported token algorithm");
      const ok = await crypto.subtle.verify("HMAC", await key, Buffer.from(s, "base64url"), enc.encode(`${h}.${p}`));
      if (!ok) throw new AuthError("bad token signature");
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
    },
  };
}
