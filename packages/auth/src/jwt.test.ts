import { describe, expect, test } from "bun:test";
import { AuthError, createJwt } from "./index.ts";

const secret = "s".repeat(32);

describe("jwt", () => {
  test("round-trips sub, roles and exp", async () => {
    const jwt = createJwt(secret);
    const token = await jwt.sign("alice", { roles: ["admin"] });
    const id = await jwt.verify(token);
    expect(id.userId).toBe("alice");
    expect(id.roles).toEqual(["admin"]);
    expect(id.exp).toBeGreaterThan(Date.now() / 1000);
  });

  test("rejects a token signed with another secret", async () => {
    const token = await createJwt("x".repeat(32)).sign("bob");
    await expect(createJwt(secret).verify(token)).rejects.toBeInstanceOf(AuthError);
  });

  test("rejects expired, malformed and tampered tokens", async () => {
    const jwt = createJwt(secret);
    await expect(jwt.verify(await jwt.sign("bob", { ttlSeconds: -5 }))).rejects.toThrow("token expired");
    await expect(jwt.verify("abc")).rejects.toThrow("malformed token");
    const [h, , s] = (await jwt.sign("bob")).split(".");
    const forged = Buffer.from(JSON.stringify({ sub: "mallory", exp: 9999999999 })).toString("base64url");
    await expect(jwt.verify(`${h}.${forged}.${s}`)).rejects.toThrow("bad token signature");
  });

  test("rejects a token without exp or with an invalid sub", async () => {
    const key = await crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    const make = async (payload: object) => {
      const h = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");
      const p = Buffer.from(JSON.stringify(payload)).toString("base64url");
      const sig = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${h}.${p}`));
      return `${h}.${p}.${Buffer.from(sig).toString("base64url")}`;
    };
    const jwt = createJwt(secret);
    await expect(jwt.verify(await make({ sub: "alice" }))).rejects.toThrow("missing exp claim");
    await expect(jwt.verify(await make({ sub: "a b", exp: 9999999999 }))).rejects.toThrow("invalid sub claim");
    await expect(jwt.verify(await make({ sub: "a", exp: 9999999999, roles: ["root"] }))).rejects.toThrow(
      "invalid roles claim",
    );
  });

  test("a verified token is remembered until it expires; at most cacheSize tokens are", async () => {
    let now = Date.now();
    const jwt = createJwt(secret, { cacheSize: 1, now: () => now });
    const carol = await jwt.sign("carol", { ttlSeconds: 60 });
    const dave = await jwt.sign("dave", { ttlSeconds: 600 });
    const first = jwt.verifySync(carol);
    expect(first.userId).toBe("carol");
    expect(jwt.verifySync(carol)).toBe(first);
    expect(jwt.verifySync(dave).userId).toBe("dave");
    const again = jwt.verifySync(carol);
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
    now += 61_000;
    expect(() => jwt.verifySync(carol)).toThrow("token expired");
    await expect(jwt.verify(carol)).rejects.toThrow("token expired");
    expect((await jwt.verify(dave)).userId).toBe("dave");
  });

  test("a forged token is rejected after the genuine one was cached", async () => {
    const jwt = createJwt(secret);
    const token = await jwt.sign("erin");
    expect(jwt.verifySync(token).userId).toBe("erin");
    expect(() => jwt.verifySync(`${token.slice(0, -2)}AA`)).toThrow(AuthError);
    expect(() => jwt.verifySync(`${token}x`)).toThrow(AuthError);
  });

  test("refuses a short secret", () => {
    expect(() => createJwt("short")).toThrow();
  });
});
