/**
 * Chaos under load: the five services as processes over a Redis with AOF (appendfsync always) and a fresh
 * database; users post locations over HTTP in pairs that meet, two users hold WebSocket clients; each service in
 * turn is killed with SIGKILL and started again, then Redis is. Nothing accepted may be lost: every location the
 * API answered 202 ends in Postgres, every meeting is one bump (stream and table), every bump frame reaches its
 * client without a gap, and every service becomes ready again on its own.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createJwt } from "@bump/auth";
import { BumpClient } from "@bump/client";
import { createDb } from "@bump/db";
import { createRedis, streamKeys, streamNames } from "@bump/streams";
import { type ServiceName, type Stack, serviceNames, stackSecret, startStack } from "./stack.ts";

type Phase = "warm-up" | ServiceName | "redis";
const phases: Phase[] = ["warm-up", ...serviceNames, "redis"];
const pairsPerPhase = 20;
const watched = ["watched-1", "watched-2"] as const;

interface User {
  id: string;
  token: string;
  home: { latitude: number; longitude: number };
}

let stack: Stack;
const users = new Map<string, User>();
const jwt = createJwt(stackSecret);
/** Ids of every location the API answered 202. */
const accepted = new Set<string>();
/** Pairs made to meet, as `a|b` with a < b. */
const meetings = new Set<string>();
const clients: BumpClient[] = [];
const frames = new Map<string, { offset: string; bump: string }[]>();
const resyncs: string[] = [];
/** Pairs of every entry appended to the bumps stream, read as they come (acked entries are trimmed later). */
const appended: string[] = [];
let tailing = true;
let tail: Promise<void> | undefined;

const pairKey = (a: string, b: string) => (a < b ? `${a}|${b}` : `${b}|${a}`);

async function addUser(id: string): Promise<User> {
  const i = users.size;
  // Homes on a grid about 450 m apart: no two users are ever near each other unless made to meet.
  const home = { latitude: 52.3 + Math.floor(i / 20) * 0.004, longitude: 13.2 + (i % 20) * 0.0066 };
  const user = { id, token: await jwt.sign(id), home };
  users.set(id, user);
  return user;
}

/** Posts one fix; with `retry`, again (same id) until the API answers 202 or 40 s pass. */
async function post(user: User, at: { latitude: number; longitude: number }, retry: boolean): Promise<void> {
  const body = JSON.stringify({ ...at, accuracy: 5, recorded_at: new Date().toISOString(), id: crypto.randomUUID() });
  const id = (JSON.parse(body) as { id: string }).id;
  const deadline = Date.now() + 40_000;
  for (let delay = 100; ; delay = Math.min(delay * 2, 1_000)) {
    try {
      const res = await fetch(`${stack.url("api")}/v1/locations`, {
        method: "POST",
        headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
        body,
        signal: AbortSignal.timeout(5_000),
      });
      await res.arrayBuffer();
      if (res.status === 202) {
        accepted.add(id);
        return;
      }
    } catch {
      // The API is down or restarting: a client retries.
    }
    if (!retry || Date.now() > deadline) return;
    await Bun.sleep(delay);
  }
}

/** Runs `tasks` with at most `n` at a time. */
async function limited(n: number, tasks: (() => Promise<void>)[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < tasks.length) await (tasks[next++] as () => Promise<void>)();
    }),
  );
}

/** One phase of load: every user posts at home (no retry), fresh pairs meet (retried until accepted). */
async function load(phase: Phase, index: number): Promise<void> {
  const tasks: (() => Promise<void>)[] = [];
  const meet = (a: User, b: User) => {
    meetings.add(pairKey(a.id, b.id));
    tasks.push(
      () => post(a, a.home, true),
      () => post(b, a.home, true),
    );
  };
  for (let k = 0; k < pairsPerPhase; k++) {
    meet(await addUser(`${phase}-${k}-a`), await addUser(`${phase}-${k}-b`));
  }
  for (const w of watched) meet(await addUser(`${phase}-${w}-friend`), users.get(w) as User);
  for (const u of users.values()) {
    if (!u.id.startsWith(`${phase}-`) && !(watched as readonly string[]).includes(u.id) && index > 0)
      tasks.push(() => post(u, u.home, false));
  }
  await limited(16, tasks);
}

async function disrupt(phase: Phase): Promise<void> {
  if (phase === "warm-up") return;
  await Bun.sleep(300);
  if (phase === "redis") {
    await stack.redis.kill9();
    await Bun.sleep(1_000);
    await stack.redis.restart();
  } else {
    await stack.kill9(phase);
    await Bun.sleep(500);
    stack.start(phase);
  }
  // Ready again on its own: nothing is done to the others.
  for (const name of serviceNames) await stack.waitReady(name, 60_000);
}

/** Follows the bumps stream from its start with XREAD, across Redis restarts. */
async function tailBumps(): Promise<void> {
  const redis = createRedis(stack.redis.url, "blocking");
  const key = streamKeys(streamNames.bumps).stream;
  let last = "0";
  try {
    while (tailing) {
      const res = (await redis.xread("COUNT", 500, "BLOCK", 500, "STREAMS", key, last).catch(async () => {
        await Bun.sleep(200);
        return null;
      })) as [string, [string, string[]][]][] | null;
      for (const [id, fields] of res?.[0]?.[1] ?? []) {
        last = id;
        const b = JSON.parse(fields[fields.indexOf("d") + 1] as string) as { user_a: string; user_b: string };
        appended.push(pairKey(b.user_a, b.user_b));
      }
    }
  } finally {
    redis.disconnect();
  }
}

beforeAll(async () => {
  stack = await startStack();
  tail = tailBumps();
  for (const w of watched) {
    const user = await addUser(w);
    const client = new BumpClient({ url: `ws://127.0.0.1:${stack.ports.websocket}/ws`, token: user.token });
    const got: { offset: string; bump: string }[] = [];
    frames.set(w, got);
    client.on("bump", (f) => got.push({ offset: f.offset, bump: f.bump.id }));
    client.on("resync", (f) => resyncs.push(`${w}: ${f.reason}`));
    await client.connect();
    clients.push(client);
  }
}, 120_000);

afterAll(async () => {
  tailing = false;
  await tail;
  for (const c of clients) c.close();
  await stack?.stop();
});

describe("chaos: kill -9 every service in turn, then Redis, under load", () => {
  test("no accepted location, bump or reliable frame is lost, and every service is ready again", async () => {
    for (const [i, phase] of phases.entries()) {
      await Promise.all([load(phase, i), disrupt(phase)]);
    }
    const database = createDb(stack.database.url);
    try {
      // Every location answered 202 ends in Postgres.
      const ids = [...accepted];
      const stored = async () =>
        Number((await database.sql`select count(*)::int as n from locations where id = any(${ids}::uuid[])`)[0]?.n);
      const deadline = Date.now() + 45_000;
      while ((await stored()) < ids.length && Date.now() < deadline) await Bun.sleep(500);
      expect({ stored: await stored() }).toEqual({ stored: ids.length });

      // Every meeting is exactly one bump, on the stream and in the table, and nothing else bumped.
      const tableCounts = async () => {
        const rows = await database.sql`select user_a, user_b from bumps`;
        const counts = new Map<string, number>();
        for (const r of rows) {
          const k = pairKey(String(r.user_a), String(r.user_b));
          counts.set(k, (counts.get(k) ?? 0) + 1);
        }
        return counts;
      };
      while ((await tableCounts()).size < meetings.size && Date.now() < deadline) await Bun.sleep(500);
      const inTable = await tableCounts();
      const onStream = new Map<string, number>();
      for (const k of appended) onStream.set(k, (onStream.get(k) ?? 0) + 1);
      const expected = new Map([...meetings].map((k) => [k, 1]));
      expect(Object.fromEntries(inTable)).toEqual(Object.fromEntries(expected));
      expect(Object.fromEntries(onStream)).toEqual(Object.fromEntries(expected));

      // Every bump of a watched user reached its client once, in order, with no gap in the offsets.
      for (const w of watched) {
        const want = (await database.sql`select id from bumps where user_a = ${w} or user_b = ${w}`).map((r) =>
          String(r.id),
        );
        const got = frames.get(w) ?? [];
        const until = Date.now() + 20_000;
        while (got.length < want.length && Date.now() < until) await Bun.sleep(250);
        expect(want.length).toBe(phases.length);
        expect(got.map((f) => f.bump).sort()).toEqual([...want].sort());
        const epochs = new Set(got.map((f) => f.offset.split(":")[0]));
        const seqs = got.map((f) => Number(f.offset.split(":")[1]));
        expect(epochs.size).toBe(1);
        expect(seqs).toEqual(seqs.map((_, i) => (seqs[0] as number) + i));
      }
      expect(resyncs).toEqual([]);

      console.log(
        `chaos: ${users.size} users, ${accepted.size} locations accepted and stored, ${meetings.size} bumps, ` +
          `${[...frames.values()].reduce((n, f) => n + f.length, 0)} bump frames to ${watched.length} clients`,
      );
      // Every service answers /ready, having recovered by itself.
      for (const name of serviceNames) await stack.waitReady(name, 10_000);
    } finally {
      await database.close();
    }
  }, 240_000);
});
