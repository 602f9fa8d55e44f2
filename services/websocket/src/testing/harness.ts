/** Test harness: gateway processes, a producer and recording clients for the websocket service's tests. */
import { createJwt } from "@bump/auth";
import { BumpClient, type BumpClientOptions } from "@bump/client";
import type { ServerFrame } from "@bump/contracts";
import { Delivery, deliveryKeys, HistoryReader, RedisPresence } from "@bump/delivery";
import type { RedisClient as Redis } from "@bump/streams";
import { createRedis } from "@bump/streams";
import {
  freePort,
  type ServiceProcess,
  spawnService,
  testRedisUrl,
  uniquePrefix,
  waitFor,
  waitForHttp,
} from "@bump/testing";

/** Secret shared by the tests and the gateways they start. */
export const SECRET = "test-secret-test-secret-test-secret-0123";
const jwt = createJwt(SECRET);

/** One gateway process. */
export interface GatewayProcess {
  readonly id: string;
  readonly port: number;
  readonly url: string;
  readonly proc: ServiceProcess;
  metric(name: string): Promise<number>;
}

/** A namespace with its Redis, producer and gateway launcher. */
export interface Harness {
  readonly ns: string;
  readonly redis: Redis;
  readonly delivery: Delivery;
  readonly history: HistoryReader;
  readonly keys: ReturnType<typeof deliveryKeys>;
  gateway(env?: Record<string, string>): Promise<GatewayProcess>;
  client(gw: GatewayProcess | (() => string), user: string, opts?: Partial<BumpClientOptions>): Recorder;
  close(): Promise<void>;
}

/** A client that records every frame and close it sees. */
export interface Recorder {
  readonly client: BumpClient;
  readonly frames: ServerFrame[];
  readonly closes: number[];
  /** Reliable frames' sequence numbers in arrival order. */
  seqs(): number[];
}

/** Starts a harness in a fresh namespace. */
export async function harness(): Promise<Harness> {
  const url = await testRedisUrl();
  const ns = uniquePrefix("ws");
  const redis = createRedis(url);
  const keys = deliveryKeys(ns);
  const presence = new RedisPresence({ redis, keys });
  const delivery = new Delivery({ redis, keys, presence });
  const history = new HistoryReader(redis, keys);
  const procs: ServiceProcess[] = [];
  const clients: BumpClient[] = [];
  let n = 0;
  return {
    ns,
    redis,
    delivery,
    history,
    keys,
    async gateway(env = {}) {
      const port = await freePort();
      const id = `gw${++n}`;
      const proc = spawnService("services/websocket/src/main.ts", {
        REDIS_URL: url,
        BUS_NAMESPACE: ns,
        PORT: String(port),
        GATEWAY_ID: id,
        AUTH_SECRET: SECRET,
        LOG_LEVEL: "warn",
        DELIVERY_HEAD_CHECK_MS: "200",
        PRESENCE_TTL_MS: "3000",
        WS_AUTH_TIMEOUT_MS: "1000",
        ...env,
      });
      procs.push(proc);
      // Generous: a loaded CI machine can take many seconds to start a process.
      await waitForHttp(`http://127.0.0.1:${port}/ready`, 60_000);
      return {
        id,
        port,
        url: `ws://127.0.0.1:${port}/ws`,
        proc,
        async metric(name) {
          const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
          return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
        },
      };
    },
    client(gw, user, opts = {}) {
      const frames: ServerFrame[] = [];
      const closes: number[] = [];
      const client = new BumpClient({
        url: typeof gw === "function" ? gw : gw.url,
        token: () => jwt.sign(user),
        minDelayMs: 50,
        maxDelayMs: 500,
        ...opts,
      });
      const kinds = [
        "welcome",
        "bump",
        "job",
        "message",
        "entity",
        "entities",
        "resync",
        "error",
        "ack",
        "pong",
      ] as const;
      for (const k of kinds) client.on(k, (f) => frames.push(f));
      client.on("close", (c) => closes.push(c.code));
      clients.push(client);
      return {
        client,
        frames,
        closes,
        seqs: () => frames.flatMap((f) => ("offset" in f ? [Number(f.offset.split(":")[1])] : [])),
      };
    },
    async close() {
      for (const c of clients) c.close();
      await Promise.all(procs.map((p) => p.kill9()));
      redis.disconnect();
    },
  };
}

/** Signs a token for `user`. */
export function tokenFor(user: string): Promise<string> {
  return jwt.sign(user);
}

/** A reliable `job` frame (without offset) whose job id carries `tag`. */
export function jobFrame(tag: string) {
  return { type: "job", job: { id: tag, queue: "test", state: "active" } } as const;
}

/** `[1, 2, ..., n]`. */
export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

/**
 * Waits for `probe` with a generous deadline (60 s): the tests assert outcomes, never how fast they come, and a
 * loaded CI machine can be many times slower than a developer's.
 */
export function eventually(probe: () => boolean | Promise<boolean>, what = "condition"): Promise<void> {
  return waitFor(probe, { timeoutMs: 60_000, what });
}
