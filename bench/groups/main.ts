/**
 * `bun run bench:groups`: group messaging throughput and large-group fan-out, beside a Socket.IO room broadcast
 * through `@socket.io/redis-streams-adapter` in the same run.
 *
 * 1. messages/s into a 10-member group: concurrent senders post (group commit: concurrent posts to the group share
 *    one transaction with consecutive seqs in Postgres, each batch announced once on the `groups` stream); the
 *    worker's fan-out consumer puts each frame in every member's history (the delivery layer; gateways then only
 *    forward). Clock stops when the last seq is in every member's history.
 * 2. one message to a 100k-member group: drain in chunks of 1,000 in process, and through the `fanout` job queue.
 * 3. peer: a Socket.IO server (redis-streams adapter) and 10 socket.io clients in one room; messages/s emitted to
 *    the room until every client received them all. Socket.IO keeps no per-member history, no order across
 *    servers and nothing for offline members; a 100k room needs 100k connected sockets, not measured here.
 *
 * Postgres: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test; a fresh database is created and
 * dropped), Redis: a private redis-server. Traffic stays on 127.0.0.1.
 */
import { createServer } from "node:http";
import { groupEvent } from "@bump/contracts";
import { createDb, migrate } from "@bump/db";
import { Delivery, deliveryKeys, RedisPresence } from "@bump/delivery";
import { GroupFanout, GroupStore, groupsKeys } from "@bump/groups";
import { Registry } from "@bump/service";
import { createRedis, Producer } from "@bump/streams";
import { startRedisServer, uniquePrefix, waitFor } from "@bump/testing";
import { createAdapter } from "@socket.io/redis-streams-adapter";
import { Redis } from "ioredis";
import { Server } from "socket.io";
import { io as connect, type Socket } from "socket.io-client";
import { startGroupFanout } from "../../services/worker/src/groups/group-fanout.ts";

const MESSAGES = Number(process.env.BENCH_GROUP_MESSAGES ?? 3_000);
const SENDERS = 16;
const BIG = Number(process.env.BENCH_GROUP_MEMBERS ?? 100_000);

async function benchDatabase(): Promise<{ url: string; close(): Promise<void> }> {
  const base = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  const admin = createDb(base, { max: 1 });
  const name = `bench_${uniquePrefix("groups").replace(/-/g, "_")}`;
  await admin.sql.unsafe(`CREATE DATABASE "${name}"`).finally(() => admin.close());
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    close: async () => {
      const a = createDb(base, { max: 1 });
      await a.sql.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).finally(() => a.close());
    },
  };
}

const server = await startRedisServer();
const db = await benchDatabase();
await migrate(db.url);
const database = createDb(db.url, { max: 20 });
const redis = createRedis(server.url);
const ns = uniquePrefix("benchgroups");
const dk = deliveryKeys(ns);
const delivery = new Delivery({ redis, keys: dk, presence: new RedisPresence({ redis, keys: dk }) });
const store = new GroupStore(database.db);
const keys = groupsKeys(ns);
const announce = new Producer({ redis, keys: keys.stream, schema: groupEvent });
// Posts as the api makes them: group commit per group, each batch announced once on the `groups` stream.
const posting = new GroupStore(database.db, 100_000, {
  announce: async (e) => {
    await announce.add(e);
  },
});
const registry = new Registry();
const rows: string[][] = [];

// 1. messages/s into a 10-member group, end to end to every member's history.
const running = await startGroupFanout({ redis, db: database.db, delivery, ns, blockMs: 20, registry });
const ten = Array.from({ length: 10 }, (_, i) => `m${i}`);
await store.create("ten", "ten", "m0", ten, Date.now());
{
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: SENDERS }, async (_, s) => {
      while (next < MESSAGES) {
        next++;
        const sender = ten[s % ten.length] as string;
        const r = await posting.post("ten", sender, crypto.randomUUID(), `hello ${next}`, Date.now());
        if (r.status !== "created") throw new Error(r.status);
      }
    }),
  );
  const posted = performance.now() - t0;
  await waitFor(async () => (await running.fanout.stats("ten")).delivered_seq >= MESSAGES, {
    timeoutMs: 120_000,
    intervalMs: 5,
  });
  const ms = performance.now() - t0;
  const stats = await running.fanout.stats("ten");
  rows.push([
    "Bump: 10-member group, post -> every member's history",
    `${Math.round((MESSAGES / ms) * 1000)} msg/s`,
    `${MESSAGES} msgs, ${SENDERS} senders; posts alone ${Math.round((MESSAGES / posted) * 1000)}/s; ${stats.frames} frames (${stats.bursts} bursts)`,
  ]);
}

// 2. one message to a 100k-member group.
const members = Array.from({ length: BIG }, (_, i) => `u${String(i).padStart(6, "0")}`);
await store.create("big", "big", members[0] as string, members, Date.now());
await store.create("bigjob", "bigjob", members[0] as string, members, Date.now());
{
  const fanout = new GroupFanout({ redis, store, delivery, keys, chunk: 1_000 });
  await store.post("big", "u000000", crypto.randomUUID(), "to everyone", Date.now());
  const t0 = performance.now();
  await fanout.drain("big");
  const ms = performance.now() - t0;
  rows.push([
    `Bump: one message to ${BIG.toLocaleString("en")} members, chunks of 1,000 in process`,
    `${Math.round(ms)} ms`,
    `${Math.round((BIG / ms) * 1000).toLocaleString("en")} member deliveries/s`,
  ]);
}
{
  const t0 = performance.now();
  const r = await posting.post("bigjob", "u000000", crypto.randomUUID(), "to everyone", Date.now());
  if (r.status !== "created") throw new Error(r.status);
  await waitFor(async () => (await running.fanout.stats("bigjob")).delivered_seq >= 1, {
    timeoutMs: 120_000,
    intervalMs: 5,
  });
  const ms = performance.now() - t0;
  rows.push([
    `Bump: one message to ${BIG.toLocaleString("en")} members, post -> consumer -> fanout job`,
    `${Math.round(ms)} ms`,
    `${Math.round((BIG / ms) * 1000).toLocaleString("en")} member deliveries/s`,
  ]);
}
await running.close();

// 3. peer: Socket.IO room broadcast through the redis streams adapter.
{
  const adapterRedis = new Redis(server.url);
  const http = createServer();
  const io = new Server(http, {
    adapter: createAdapter(adapterRedis, { readCount: 1_000 }),
    transports: ["websocket"],
  });
  io.on("connection", (socket) => void socket.join("ten"));
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const addr = http.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  const counts = new Array(10).fill(0) as number[];
  const sockets: Socket[] = [];
  for (let i = 0; i < 10; i++) {
    const s = connect(`http://127.0.0.1:${port}`, { transports: ["websocket"], forceNew: true });
    s.on("message", () => {
      counts[i] = (counts[i] ?? 0) + 1;
    });
    sockets.push(s);
  }
  await waitFor(() => sockets.every((s) => s.connected));
  await waitFor(async () => (await io.in("ten").fetchSockets()).length === 10);
  const t0 = performance.now();
  for (let n = 1; n <= MESSAGES; n++) {
    io.to("ten").emit("message", { seq: n, sender: "m0", text: `hello ${n}`, at: new Date().toISOString() });
    if (n % 200 === 0) await Bun.sleep(0);
  }
  await waitFor(() => counts.every((c) => c >= MESSAGES), { timeoutMs: 120_000, intervalMs: 5 });
  const ms = performance.now() - t0;
  rows.push([
    "Socket.IO 4.8 + redis-streams-adapter: 10-socket room broadcast",
    `${Math.round((MESSAGES / ms) * 1000)} msg/s`,
    `${MESSAGES} msgs to connected sockets; no history, no seq, nothing for offline members`,
  ]);
  for (const s of sockets) s.close();
  io.close();
  adapterRedis.disconnect();
}

console.log("| case | result | notes |\n|---|---|---|");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
const metrics = (await registry.render()).split("\n");
for (const l of metrics.filter(
  (m) => m.startsWith("group_fanout_seconds_sum") || m.startsWith("group_fanout_seconds_count"),
)) {
  console.log(l);
}

redis.disconnect();
await database.close();
await db.close();
await server.stop();
process.exit(0);
