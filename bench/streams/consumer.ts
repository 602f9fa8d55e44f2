/**
 * One consumer of the streams benchmark, run as its own process by `main.ts`. Its one argument is a JSON
 * {@link ConsumerConfig}. It reports `{ t: "ready", cpu }` once it consumes and `{ t: "count", n, cpu }` (messages
 * handled so far) over IPC, `cpu` being its CPU time in microseconds; SIGTERM stops it.
 */
import { Consumer, createRedis, streamKeys } from "@bump/streams";
import { connect } from "amqplib";
import { benchSchema } from "./payload.ts";

/** Which consumer to run. */
export interface ConsumerConfig {
  kind: "raw" | "runtime" | "runtime-zod" | "rabbitmq";
  url: string;
  ns: string;
  group: string;
  name: string;
  batch: number;
  queue: string;
}

const cfg = JSON.parse(process.argv[2] ?? "{}") as ConsumerConfig;
const cpu = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};
const send = (msg: { t: string; n?: number }) => process.send?.({ ...msg, cpu: cpu() });
let handled = 0;
let stopping = false;
let stop: () => Promise<void> = async () => {};
process.on("SIGTERM", () => {
  stopping = true;
  void stop().finally(() => process.exit(0));
});

/** The raw limit: XACK of the last batch pipelined with XREADGROUP of the next, no runtime at all. */
async function raw(): Promise<void> {
  const keys = streamKeys("bench", { ns: cfg.ns });
  const redis = createRedis(cfg.url);
  let acks: string[] = [];
  send({ t: "ready" });
  while (!stopping) {
    const pipe = redis.pipeline();
    if (acks.length) pipe.xack(keys.stream, cfg.group, ...acks);
    pipe.call(
      "XREADGROUP",
      "GROUP",
      cfg.group,
      cfg.name,
      "COUNT",
      cfg.batch,
      "BLOCK",
      100,
      "STREAMS",
      keys.stream,
      ">",
    );
    const results = (await pipe.exec()) ?? [];
    const reply = results[results.length - 1]?.[1] as [string, [string, string[]][]][] | null;
    acks = [];
    for (const [, entries] of reply ?? []) {
      for (const [id, fields] of entries) {
        JSON.parse(fields[1] as string);
        acks.push(id);
      }
    }
    if (acks.length) {
      handled += acks.length;
      send({ t: "count", n: handled });
    }
  }
}

/** The bus runtime: `Consumer` with its defaults, optionally validating with zod. */
async function runtime(validate: boolean): Promise<void> {
  const keys = streamKeys("bench", { ns: cfg.ns });
  const redis = createRedis(cfg.url);
  const consumer = new Consumer({
    redis,
    keys,
    group: cfg.group,
    consumer: cfg.name,
    batchSize: cfg.batch,
    schema: validate ? benchSchema : undefined,
    handler: async (batch) => {
      handled += batch.length;
      send({ t: "count", n: handled });
    },
  });
  stop = () => consumer.close();
  await consumer.start();
  send({ t: "ready" });
}

/** RabbitMQ: prefetch window, manual acks (cumulative, once per burst of deliveries). */
async function rabbitmq(): Promise<void> {
  const conn = await connect(cfg.url);
  const ch = await conn.createChannel();
  await ch.prefetch(cfg.batch);
  let last: Parameters<typeof ch.ack>[0] | undefined;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (!last) return;
    ch.ack(last, true);
    last = undefined;
    send({ t: "count", n: handled });
  };
  await ch.consume(
    cfg.queue,
    (msg) => {
      if (!msg) return;
      JSON.parse(msg.content.toString());
      handled++;
      last = msg;
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    { noAck: false },
  );
  stop = () => conn.close();
  send({ t: "ready" });
}

if (cfg.kind === "raw") await raw();
else if (cfg.kind === "rabbitmq") await rabbitmq();
else await runtime(cfg.kind === "runtime-zod");
