import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { GroupEvent } from "@bump/contracts";
import { createDb, type Database, migrate } from "@bump/db";
import { createTestDatabase, type TestDatabase } from "@bump/testing";
import { GroupStore, type PostResult } from "./store.ts";

let tdb: TestDatabase;
let database: Database;

beforeAll(async () => {
  tdb = await createTestDatabase();
  await migrate(tdb.url);
  database = createDb(tdb.url);
}, 60_000);

afterAll(async () => {
  await database.close();
  await tdb.close();
});

function seqOf(r: PostResult): number {
  if (r.status !== "created" && r.status !== "duplicate") throw new Error(r.status);
  return r.message.seq;
}

describe("GroupStore.post group commit", () => {
  test("200 concurrent posts get seqs 1..200 once each; retries in the batch answer the same seq", async () => {
    const announced: GroupEvent[] = [];
    const store = new GroupStore(database.db, 100, {
      announce: async (e) => {
        announced.push(e);
      },
    });
    await store.create("g200", "g", "alice", ["bob"], Date.now());
    const ids = Array.from({ length: 200 }, () => crypto.randomUUID());
    const posts = ids.map((id, i) => store.post("g200", i % 2 ? "alice" : "bob", id, `m${i}`, Date.now()));
    // Submitted in the same tick as the posts, so they share the batch: retries, a non-member, a foreign sender.
    const retries = ids.slice(0, 20).map((id, i) => store.post("g200", i % 2 ? "alice" : "bob", id, "again", 0));
    const stranger = store.post("g200", "eve", crypto.randomUUID(), "x", Date.now());
    const thief = store.post("g200", "alice", ids[0] as string, "mine", Date.now());
    const results = await Promise.all(posts);
    expect(results.every((r) => r.status === "created")).toBe(true);
    const seqs = results.map(seqOf);
    expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    const again = await Promise.all(retries);
    expect(again.map((r) => r.status)).toEqual(Array(20).fill("duplicate"));
    expect(again.map(seqOf)).toEqual(seqs.slice(0, 20));
    expect((await stranger).status).toBe("forbidden");
    expect((await thief).status).toBe("id_conflict");
    const stored = await store.messages("g200", 0, 500);
    expect(stored.map((m) => m.seq)).toEqual(seqs);
    expect(stored.map((m) => m.text)).toEqual(ids.map((_, i) => `m${i}`));
    expect(announced).toHaveLength(1);
    expect(announced[0]).toMatchObject({ group_id: "g200", seq: 200 });
    // A retry after the batch committed stores nothing and is announced again.
    const late = await store.post("g200", "bob", ids[0] as string, "late", Date.now());
    expect(late.status).toBe("duplicate");
    expect(seqOf(late)).toBe(1);
    expect(announced.map((e) => e.seq)).toEqual([200, 1]);
    expect(await store.messages("g200", 200, 10)).toEqual([]);
  });

  test("a batch of distinct ids (one statement) answers each post: created, duplicate, forbidden and id_conflict side by side", async () => {
    const store = new GroupStore(database.db, 100);
    await store.create("mixed", "g", "alice", ["bob"], Date.now());
    await store.create("other", "g", "carol", [], Date.now());
    const first = await store.post("mixed", "alice", crypto.randomUUID(), "first", Date.now());
    const second = await store.post("mixed", "alice", crypto.randomUUID(), "second", Date.now());
    const elsewhere = await store.post("other", "carol", crypto.randomUUID(), "there", Date.now());
    if (first.status !== "created" || second.status !== "created" || elsewhere.status !== "created") {
      throw new Error("setup");
    }
    const results = await Promise.all([
      store.post("mixed", "bob", crypto.randomUUID(), "n1", Date.now()),
      store.post("mixed", "alice", first.message.id, "again", Date.now()),
      store.post("mixed", "eve", crypto.randomUUID(), "x", Date.now()),
      store.post("mixed", "bob", second.message.id, "mine", Date.now() + 1),
      store.post("mixed", "alice", elsewhere.message.id, "theirs", Date.now()),
      store.post("mixed", "alice", crypto.randomUUID(), "n2", Date.now()),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      "created",
      "duplicate",
      "forbidden",
      "id_conflict",
      "id_conflict",
      "created",
    ]);
    expect(results.filter((r) => r.status === "created" || r.status === "duplicate").map(seqOf)).toEqual([3, 1, 4]);
    const dup = results[1];
    if (dup?.status !== "duplicate") throw new Error("duplicate expected");
    expect(dup.message).toEqual(first.message);
    expect((await store.messages("mixed", 0, 10)).map((m) => [m.seq, m.text])).toEqual([
      [1, "first"],
      [2, "second"],
      [3, "n1"],
      [4, "n2"],
    ]);
  });

  test("two stores (two processes) posting to one group keep seqs gap-free", async () => {
    const a = new GroupStore(database.db, 100, { maxBatch: 7 });
    const b = new GroupStore(database.db, 100, { maxBatch: 11 });
    await a.create("g2", "g", "alice", ["bob"], Date.now());
    const results = await Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        (i % 2 ? a : b).post("g2", i % 3 ? "alice" : "bob", crypto.randomUUID(), `m${i}`, Date.now()),
      ),
    );
    expect(results.map(seqOf).sort((x, y) => x - y)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    expect((await a.messages("g2", 0, 500)).map((m) => m.seq)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
  });

  test("one id posted to two groups at once is stored once; the loser's batch retries and answers id_conflict", async () => {
    const a = new GroupStore(database.db, 100);
    const b = new GroupStore(database.db, 100);
    await a.create("race-a", "g", "alice", [], Date.now());
    await a.create("race-b", "g", "alice", [], Date.now());
    for (let round = 0; round < 5; round++) {
      const id = crypto.randomUUID();
      const [x, y] = await Promise.all([
        a.post("race-a", "alice", id, `a${round}`, Date.now()),
        b.post("race-b", "alice", id, `b${round}`, Date.now()),
      ]);
      expect([x?.status, y?.status].sort()).toEqual(["created", "id_conflict"]);
    }
    // The connections that carried the failed statements are usable again.
    const after = await Promise.all([a.post("race-a", "alice", crypto.randomUUID(), "later", Date.now())]);
    expect(after.map((r) => r.status)).toEqual(["created"]);
    const stored = [...(await a.messages("race-a", 0, 50)), ...(await a.messages("race-b", 0, 50))];
    expect(stored).toHaveLength(6);
    expect(new Set(stored.map((m) => m.text.slice(1))).size).toBe(6);
  });

  test("an unknown group answers not_found for the whole batch and stores nothing", async () => {
    const store = new GroupStore(database.db);
    const rs = await Promise.all([1, 2, 3].map((i) => store.post("nope", "alice", crypto.randomUUID(), `${i}`, 0)));
    expect(rs.map((r) => r.status)).toEqual(["not_found", "not_found", "not_found"]);
    expect(await store.messages("nope", 0, 10)).toEqual([]);
  });
});
