/**
 * End-to-end throughput of the bus (produce -> handler -> ack) for small messages, side by side in one run with
 * the raw Redis Streams limit (pipelined XADD; XREADGROUP COUNT n with the XACK of the previous batch pipelined,
 * no runtime) and RabbitMQ (durable queue, persistent messages, publisher confirms per batch, prefetch, acks).
 * Consumers run in their own processes. Redis is two dedicated redis-servers with AOF, one with appendfsync always
 * (every acknowledged write on disk, as durable as RabbitMQ's confirms) and one with everysec (where the CPU cost
 * of the runtime shows), unless `--redis-url` is given; RabbitMQ is skipped with a note when `--amqp-url` does not
 * answer.
 *
 *   bun run bench:streams [-- --messages=200000 --batch=200 --redis-url=redis://... --amqp-url=amqp://...]
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { RedisClient as Redis } from "@bump/streams";
import { createRedis, Producer, streamKeys } from "@bump/streams";
import { startRedisServer, uniquePrefix } from "@bump/testing";
import { connect } from "amqplib";
import type { ConsumerConfig } from "./consumer.ts";
import { benchSchema, makeMessages } from "./payload.ts";

const { values: args } = parseArgs({
  options: {
    messages: { type: "string", default: "200000" },
    batch: { type: "string", default: "200" },
    chunk: { type: "string", default: "1000" },
    "redis-url": { type: "string" },
    "amqp-url": { type: "string", default: "amqp://guest:guest@127.0.0.1:5672" },
    systems: { type: "string", default: "raw,runtime,runtime-zod,rabbitmq" },
    rounds: { type: "string", default: "1" },
  },
});
const N = Number(args.messages);
const BATCH = Number(args.batch);
const CHUNK = Number(args.chunk);
const ROUNDS = Number(args.rounds);
const SYSTEMS = new Set(args.systems.split(","));
const MAXLEN = 1_000_000;
const consumerEntry = join(import.meta.dir, "consumer.ts");

type Kind = ConsumerConfig["kind"];
interface Row {
  setup: string;
  kind: Kind;
  consumers: number;
  rate: number;
  cpuPerMessage: number;
}

const messages = makeMessages(N);
const payloads = messages.map((m) => JSON.stringify(m));
const buffers = payloads.map((p) => Buffer.from(p));

/** Spawns the consumers and resolves once each reported ready; `total()` sums what they handled. */
async function spawnConsumers(n: number, cfg: Omit<ConsumerConfig, "name">) {
  const counts = new Array<number>(n).fill(0);
  const cpuAtReady = new Array<number>(n).fill(0);
  const cpuNow = new Array<number>(n).fill(0);
  let ready = 0;
  const procs = Array.from({ length: n }, (_, i) =>
    Bun.spawn(["bun", consumerEntry, JSON.stringify({ ...cfg, name: `c${i}` })], {
      stdio: ["ignore", "inherit", "inherit"],
      ipc(msg: { t: string; n?: number; cpu: number }) {
        cpuNow[i] = msg.cpu;
        if (msg.t === "ready") {
          cpuAtReady[i] = msg.cpu;
          ready++;
        } else if (msg.t === "count") counts[i] = msg.n ?? 0;
      },
    }),
  );
  await waitUntil(() => ready === n, 30_000, "consumers to start");
  return {
    total: () => counts.reduce((a, b) => a + b, 0),
    /** CPU time the consumers spent since they were ready, microseconds. */
    cpu: () => cpuNow.reduce((a, b, i) => a + b - (cpuAtReady[i] ?? 0), 0),
    stop: async () => {
      for (const p of procs) p.kill("SIGTERM");
      await Promise.all(procs.map((p) => p.exited));
    },
  };
}

async function waitUntil(probe: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(2);
  }
}

/** Messages per second end to end, and consumer CPU microseconds per message (less sensitive to other load). */
interface Result {
  rate: number;
  cpuPerMessage: number;
}

async function runRedis(redisUrl: string, kind: Kind, consumers: number): Promise<Result> {
  const ns = uniquePrefix("bench");
  const keys = streamKeys("bench", { ns });
  const redis = createRedis(redisUrl);
  await redis.xgroup("CREATE", keys.stream, "g", "0", "MKSTREAM");
  const group = await spawnConsumers(consumers, { kind, url: redisUrl, ns, group: "g", batch: BATCH, queue: "" });
  const producer = new Producer({ redis, keys, schema: benchSchema, maxLen: MAXLEN });
  const started = performance.now();
  for (let i = 0; i < N; i += CHUNK) {
    if (kind === "raw") {
      const pipe = redis.pipeline();
      for (let j = i; j < Math.min(i + CHUNK, N); j++)
        pipe.xadd(keys.stream, "MAXLEN", "~", MAXLEN, "*", "d", payloads[j] as string);
      await pipe.exec();
    } else if (kind === "runtime-zod") {
      await producer.addMany(messages.slice(i, i + CHUNK));
    } else {
      await producer.addRaw(payloads.slice(i, i + CHUNK));
    }
  }
  await waitUntil(() => group.total() >= N, 120_000, "every message to be handled");
  await waitUntil(async () => pendingOf(redis, keys.stream).then((p) => p === 0), 30_000, "the last acks");
  const seconds = (performance.now() - started) / 1000;
  const cpuPerMessage = group.cpu() / N;
  await group.stop();
  await redis.del(keys.stream, keys.retryStream("g"), keys.retrySet("g"), keys.dlq);
  redis.disconnect();
  return { rate: N / seconds, cpuPerMessage };
}

async function pendingOf(redis: Redis, stream: string): Promise<number> {
  const [count] = (await redis.xpending(stream, "g")) as [number];
  return count;
}

async function runRabbit(amqpUrl: string, consumers: number): Promise<Result> {
  const queue = uniquePrefix("bench");
  const conn = await connect(amqpUrl);
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue(queue, { durable: true });
  const group = await spawnConsumers(consumers, {
    kind: "rabbitmq",
    url: amqpUrl,
    ns: "",
    group: "",
    batch: BATCH,
    queue,
  });
  const started = performance.now();
  for (let i = 0; i < N; i += CHUNK) {
    for (let j = i; j < Math.min(i + CHUNK, N); j++)
      ch.sendToQueue(queue, buffers[j] as Buffer, { persistent: true, contentType: "application/json" });
    await ch.waitForConfirms();
  }
  await waitUntil(() => group.total() >= N, 120_000, "every message to be handled");
  const seconds = (performance.now() - started) / 1000;
  const cpuPerMessage = group.cpu() / N;
  await group.stop();
  await ch.deleteQueue(queue);
  await conn.close();
  return { rate: N / seconds, cpuPerMessage };
}

async function rabbitAnswers(url: string): Promise<string | undefined> {
  try {
    const conn = await connect(url);
    await conn.close();
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** A Redis to run on: `always` fsyncs before every reply (as durable as RabbitMQ's confirms), `everysec` shows CPU. */
interface Setup {
  name: string;
  url: string;
  kinds: Kind[];
  stop?: () => Promise<void>;
}
const setups: Setup[] = [];
if (args["redis-url"]) {
  setups.push({ name: "as given", url: args["redis-url"], kinds: ["raw", "runtime", "runtime-zod"] });
} else {
  for (const [fsync, kinds] of [
    ["always", ["raw", "runtime"]],
    ["everysec", ["raw", "runtime", "runtime-zod"]],
  ] as const) {
    const server = await startRedisServer({ args: ["--appendfsync", fsync] });
    setups.push({ name: fsync, url: server.url, kinds: [...kinds], stop: server.stop });
  }
}
const rabbitDown = await rabbitAnswers(args["amqp-url"]);
const rows: Row[] = [];
const record = (setup: string, kind: Kind, consumers: number, { rate, cpuPerMessage }: Result) => {
  const row = rows.find((r) => r.setup === setup && r.kind === kind && r.consumers === consumers);
  if (row) {
    row.rate = Math.max(row.rate, rate);
    row.cpuPerMessage = Math.min(row.cpuPerMessage, cpuPerMessage);
  } else rows.push({ setup, kind, consumers, rate, cpuPerMessage });
  console.error(`${kind} (${setup}) x${consumers}: ${Math.round(rate)} msg/s, ${cpuPerMessage.toFixed(1)} µs CPU/msg`);
};
try {
  // rounds interleave the systems, so that load from elsewhere on the machine hits them alike; best round counts
  for (let round = 0; round < ROUNDS; round++) {
    for (const consumers of [1, 2]) {
      for (const setup of setups) {
        for (const kind of setup.kinds) {
          if (SYSTEMS.has(kind)) record(setup.name, kind, consumers, await runRedis(setup.url, kind, consumers));
        }
      }
      if (!rabbitDown && SYSTEMS.has("rabbitmq")) {
        record("confirms", "rabbitmq", consumers, await runRabbit(args["amqp-url"], consumers));
      }
    }
  }
} finally {
  for (const setup of setups) await setup.stop?.();
}

const label: Record<Kind, string> = {
  raw: "raw Redis Streams limit (no runtime)",
  runtime: "bus runtime (Producer.addRaw + Consumer)",
  "runtime-zod": "bus runtime, zod on both ends (addMany + schema)",
  rabbitmq: "RabbitMQ (amqplib, durable, persistent, confirms)",
};
const rowOf = (setup: string, kind: Kind, consumers: number) =>
  rows.find((r) => r.setup === setup && r.kind === kind && r.consumers === consumers);
const rateOf = (setup: string, kind: Kind, consumers: number) => rowOf(setup, kind, consumers)?.rate;
/** Reversed, so that above 1 means the runtime is cheaper: raw CPU per message over runtime CPU per message. */
const cpuOf = (setup: string, kind: Kind, consumers: number) => {
  const us = rowOf(setup, kind, consumers)?.cpuPerMessage;
  return us ? 1 / us : undefined;
};
const cpuText = (setup: string, kind: Kind) => {
  const row = rowOf(setup, kind, 1);
  return row ? row.cpuPerMessage.toFixed(1) : "-";
};
const ratio = (a?: number, b?: number) => (a && b ? `${(a / b).toFixed(2)}x` : "-");
const fmt = (n?: number) => (n ? Math.round(n).toLocaleString("en-US") : "-");

console.log(
  `\n${N.toLocaleString("en-US")} messages of ${payloads[0]?.length} bytes, batch ${BATCH}, producer chunk ${CHUNK}, ` +
    `best of ${ROUNDS} round(s)\n`,
);
console.log("| system | durability | 1 consumer (msg/s) | 2 consumers (msg/s) | consumer CPU (µs/msg) |");
console.log("| --- | --- | ---: | ---: | ---: |");
const order = [...setups.map((s) => s.name), "confirms"];
for (const setup of order) {
  for (const kind of ["raw", "runtime", "runtime-zod", "rabbitmq"] as const) {
    if (!rows.some((r) => r.setup === setup && r.kind === kind)) continue;
    const durability = kind === "rabbitmq" ? "fsync before confirm" : `appendfsync ${setup}`;
    const rates = `${fmt(rateOf(setup, kind, 1))} | ${fmt(rateOf(setup, kind, 2))}`;
    console.log(`| ${label[kind]} | ${durability} | ${rates} | ${cpuText(setup, kind)} |`);
  }
}
console.log("\n| ratio (throughput) | 1 consumer | 2 consumers | consumer CPU efficiency, 1 consumer |");
console.log("| --- | ---: | ---: | ---: |");
const ratios: [string, string, Kind, string, Kind][] = [];
for (const setup of setups) {
  ratios.push([`runtime / raw limit, ${setup.name} (goal >= 0.80)`, setup.name, "runtime", setup.name, "raw"]);
  if (setup.kinds.includes("runtime-zod"))
    ratios.push([`runtime with zod / raw limit, ${setup.name}`, setup.name, "runtime-zod", setup.name, "raw"]);
}
const durable = setups[0]?.name ?? "";
ratios.push([`runtime (${durable}) / RabbitMQ (goal >= 1.5)`, durable, "runtime", "confirms", "rabbitmq"]);
for (const [name, sa, a, sb, b] of ratios) {
  console.log(
    `| ${name} | ${ratio(rateOf(sa, a, 1), rateOf(sb, b, 1))} | ${ratio(rateOf(sa, a, 2), rateOf(sb, b, 2))} | ` +
      `${ratio(cpuOf(sa, a, 1), cpuOf(sb, b, 1))} |`,
  );
}
if (rabbitDown) console.log(`\nRabbitMQ skipped: ${args["amqp-url"]} did not answer (${rabbitDown}).`);
