import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { groupsKeys } from "@bump/groups";
import { testRedisUrl, uniquePrefix } from "@bump/testing";
import type { Hono } from "hono";
import { createApp } from "../app.ts";
import { createTestDeps, type TestDeps } from "../test-deps.ts";
import { groupRoutes } from "./groups.ts";

let t: TestDeps;
let app: Hono;
const tokens: Record<string, string> = {};
const ns = uniquePrefix("apigroups");
const stream = groupsKeys(ns).stream.stream;

beforeAll(async () => {
  t = await createTestDeps({ redisUrl: await testRedisUrl() });
  app = createApp(t.deps, { routes: [groupRoutes({ ns, maxMembers: 5 })] });
  for (const u of ["alice", "bob", "carol", "eve"]) tokens[u] = await t.jwt.sign(u);
}, 60_000);
afterAll(async () => {
  await t.redis.del(stream);
  await t.close();
});

const call = (method: string, path: string, user: string, body?: unknown) =>
  app.request(path, {
    method,
    headers: { "content-type": "application/json", authorization: `Bearer ${tokens[user]}` },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });

async function create(user: string, members: string[]): Promise<string> {
  const res = await call("POST", "/v1/groups", user, { name: "g", members });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function page(id: string, user = "alice", query = "") {
  const res = await call("GET", `/v1/groups/${id}/messages${query}`, user);
  return { status: res.status, body: (await res.json()) as { messages: { seq: number; text: string }[] } };
}

describe("groups", () => {
  test("create: the creator is a member; members add, leave, and the creator removes", async () => {
    const id = await create("alice", ["bob", "bob"]);
    const got = await call("GET", `/v1/groups/${id}`, "bob");
    expect(await got.json()).toMatchObject({ id, name: "g", created_by: "alice", members: 2 });
    expect((await call("GET", `/v1/groups/${id}`, "carol")).status).toBe(403);
    expect((await call("GET", "/v1/groups/nope", "carol")).status).toBe(404);
    expect((await call("POST", `/v1/groups/${id}/members`, "carol", { members: ["carol"] })).status).toBe(403);
    const add = await call("POST", `/v1/groups/${id}/members`, "bob", { members: ["carol", "alice"] });
    expect(await add.json()).toEqual({ added: 1 });
    const full = await call("POST", `/v1/groups/${id}/members`, "bob", { members: ["x1", "x2", "x3"] });
    expect(full.status).toBe(400);
    expect((await call("DELETE", `/v1/groups/${id}/members/alice`, "bob")).status).toBe(403);
    expect((await call("DELETE", `/v1/groups/${id}/members/carol`, "alice")).status).toBe(200);
    expect((await call("DELETE", `/v1/groups/${id}/members/bob`, "bob")).status).toBe(200);
    expect((await call("DELETE", `/v1/groups/${id}/members/bob`, "alice")).status).toBe(404);
    expect((await call("POST", `/v1/groups/${id}/messages`, "bob", { text: "hi" })).status).toBe(403);
  });

  test("posts get consecutive seqs, are announced on the stream up to the last seq and read back after a seq", async () => {
    const id = await create("alice", ["bob"]);
    const seqs: number[] = [];
    await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const res = await call("POST", `/v1/groups/${id}/messages`, i % 2 ? "alice" : "bob", { text: `m${i}` });
        expect(res.status).toBe(201);
        seqs.push(((await res.json()) as { seq: number }).seq);
      }),
    );
    expect(seqs.sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    const all = await page(id);
    expect(all.body.messages.map((m) => m.seq)).toEqual(seqs);
    const tail = await page(id, "bob", "?after=10&limit=5");
    expect(tail.body).toMatchObject({ next_after: 12 });
    expect(tail.body.messages.map((m) => m.seq)).toEqual([11, 12]);
    const entries = (await t.redis.xrange(stream, "-", "+")) as [string, string[]][];
    const announced = entries.map(([, f]) => JSON.parse(f[1] as string)).filter((e) => e.group_id === id);
    // Announced once per committed batch with its highest seq; the fan-out reads the store up to it.
    expect(announced.length).toBeGreaterThan(0);
    expect(announced.every((e) => seqs.includes(e.seq))).toBe(true);
    expect(Math.max(...announced.map((e) => e.seq))).toBe(12);
  });

  test("the same client id answers the same seq and stores once", async () => {
    const id = await create("alice", []);
    const body = { text: "once", id: crypto.randomUUID() };
    const first = await call("POST", `/v1/groups/${id}/messages`, "alice", body);
    const again = await call("POST", `/v1/groups/${id}/messages`, "alice", body);
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(await first.json());
    expect((await page(id)).body.messages).toHaveLength(1);
    const other = await create("bob", []);
    expect((await call("POST", `/v1/groups/${other}/messages`, "bob", body)).status).toBe(400);
  });

  test("non-members cannot post or read; bad bodies answer 400 and store nothing", async () => {
    const id = await create("alice", ["bob"]);
    expect((await call("POST", `/v1/groups/${id}/messages`, "eve", { text: "x" })).status).toBe(403);
    expect((await page(id, "eve")).status).toBe(403);
    expect((await call("POST", "/v1/groups/unknown/messages", "eve", { text: "x" })).status).toBe(404);
    for (const body of [
      {},
      { text: "" },
      { text: "x".repeat(4097) },
      { text: "é".repeat(2049) },
      { text: 5 },
      { text: "x", id: "not-a-uuid" },
      { text: "x", sender: "bob" },
      "{not json",
    ]) {
      const res = await call("POST", `/v1/groups/${id}/messages`, "alice", body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("invalid_request");
    }
    expect((await call("POST", `/v1/groups/${id}/messages`, "alice", { text: "x".repeat(4096) })).status).toBe(201);
    expect((await page(id)).body.messages.map((m) => m.seq)).toEqual([1]);
    expect((await page(id, "alice", "?limit=0")).status).toBe(400);
    expect((await call("POST", "/v1/groups", "alice", { members: ["bad user"] })).status).toBe(400);
  });
});
