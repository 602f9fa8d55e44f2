/**
 * `bun run sim -- --users 1000 --minutes 1 [--target http|stream] [--api URL] [--batch] [--redis URL] [--ns NS]
 * [--partitions P] [--interval S] [--out FILE] [--seed N]`: users random-walking in a city plus groups that meet,
 * each user sending a fix every `--interval` seconds over the API (tokens signed with the development secret) or
 * straight to the stream. Writes the ground truth (the oracle's bumps) to `--out`. With `--redis` the ground
 * truth is computed from the locations stream as written (exact: the stream's order and receipt times) and the
 * bumps stream is compared with it; without, from the fixes as sent.
 */
import { parseArgs } from "node:util";
import type { LocationEvent } from "@bump/contracts";
import { bumpOracle, defaultBumpRules, type FixInput } from "@bump/geo";
import type { RedisClient as Redis } from "@bump/streams";
import { compareIds, createRedis, streamKeys, streamNames } from "@bump/streams";
import { City, type SimFix } from "./city.ts";
import { httpTarget, streamTarget, type Target } from "./targets.ts";

const { values: args } = parseArgs({
  options: {
    users: { type: "string", default: "1000" },
    minutes: { type: "string", default: "1" },
    interval: { type: "string", default: "5" },
    target: { type: "string", default: "http" },
    api: { type: "string", default: "http://127.0.0.1:3000" },
    batch: { type: "boolean", default: false },
    redis: { type: "string" },
    ns: { type: "string", default: "" },
    partitions: { type: "string", default: "1" },
    groups: { type: "string" },
    "group-size": { type: "string", default: "4" },
    side: { type: "string", default: "3000" },
    seed: { type: "string", default: "1" },
    out: { type: "string", default: "sim-ground-truth.json" },
    settle: { type: "string", default: "3" },
  },
});

const users = Number(args.users);
const groupSize = Number(args["group-size"]);
const city = new City({
  users,
  groups: args.groups ? Number(args.groups) : Math.floor((users * 0.1) / groupSize),
  groupSize,
  sideM: Number(args.side),
  seed: Number(args.seed),
});
const redis: Redis | undefined = args.redis ? createRedis(args.redis) : undefined;
if (args.target === "stream" && !redis) throw new Error("--target stream needs --redis");
const partitions = Number(args.partitions);
const target: Target =
  args.target === "stream"
    ? streamTarget(redis as Redis, args.ns, partitions)
    : await httpTarget(args.api, city.users, args.batch);

const intervalMs = Number(args.interval) * 1000;
const endAt = Date.now() + Number(args.minutes) * 60_000;
const startId = `${Date.now()}-0`;
const sent: FixInput[] = [];
let accepted = 0;
// Users send at staggered moments: each tick sends the slice of users whose turn it is.
const tickMs = 100;
const perTick = Math.max(1, Math.ceil((users * tickMs) / intervalMs));
let pending: SimFix[] = [];
let cursor = 0;
while (Date.now() < endAt) {
  const started = Date.now();
  if (cursor === 0) pending = city.step(intervalMs / 1000, started);
  const slice = pending.slice(cursor, cursor + perTick).map((f) => ({ ...f, recorded_at: Date.now() }));
  cursor = cursor + perTick >= pending.length ? 0 : cursor + perTick;
  accepted += await target.send(slice);
  for (const f of slice) sent.push({ ...f, received_at: f.recorded_at });
  const wait = tickMs - (Date.now() - started);
  if (wait > 0) await Bun.sleep(wait);
}
await Bun.sleep(Number(args.settle) * 1000);

const report: Record<string, unknown> = { args, rules: defaultBumpRules, sent: sent.length, accepted };
if (redis) {
  const ns = args.ns || undefined;
  const mine = new Set(city.users);
  const seen = new Map<string, LocationEvent & { entry: string }>();
  for (let p = 0; p < partitions; p++) {
    const key = streamKeys(streamNames.locations, { ns, partition: partitions > 1 ? p : undefined }).stream;
    for (const [entry, fields] of (await redis.xrange(key, startId, "+")) as [string, string[]][]) {
      // an entry holds one fix or an array of them, in order
      for (const fix of [JSON.parse(fields[1] ?? "{}") as LocationEvent | LocationEvent[]].flat())
        if (mine.has(fix.user_id) && !seen.has(fix.id)) seen.set(fix.id, { ...fix, entry });
    }
  }
  // One stream: its order is the truth. Partitions: receipt order (a fix may sit in several partitions).
  const ordered = [...seen.values()].sort((a, b) =>
    partitions > 1 ? a.received_at - b.received_at : compareIds(a.entry, b.entry),
  );
  const expected = bumpOracle(ordered, defaultBumpRules);
  const bumps = (
    (await redis.xrange(streamKeys(streamNames.bumps, { ns }).stream, startId, "+")) as [string, string[]][]
  )
    .map(([, f]) => JSON.parse(f[1] ?? "{}") as { id: string; user_a: string; user_b: string })
    .filter((b) => mine.has(b.user_a));
  const got = new Set(bumps.map((b) => b.id));
  const want = new Set(expected.map((b) => b.id));
  report.groundTruth = "locations stream";
  report.expected = expected;
  report.observed = {
    bumps: bumps.length,
    missing: expected.filter((b) => !got.has(b.id)).map((b) => b.id),
    extra: bumps.filter((b) => !want.has(b.id)).map((b) => b.id),
  };
  redis.disconnect();
} else {
  report.groundTruth = "fixes as sent";
  report.expected = bumpOracle(sent, defaultBumpRules);
}
await Bun.write(args.out, JSON.stringify(report, null, 2));
const summary = {
  sent: sent.length,
  accepted,
  expected: (report.expected as unknown[]).length,
  observed: report.observed,
};
console.log(JSON.stringify({ ...summary, observed: summary.observed && { ...(summary.observed as object) } }));
