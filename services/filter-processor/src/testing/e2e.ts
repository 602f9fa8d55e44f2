/** End-to-end harness: a gateway process, filter-processor processes and recording socket clients. */
import { createJwt } from "@bump/auth";
import { BumpClient } from "@bump/client";
import { type EntityEvent, entityEvent, type PublicEntity, serverFrame } from "@bump/contracts";
import type { RedisClient as Redis } from "@bump/streams";
import { createRedis, Producer } from "@bump/streams";
import {
  createTestDatabase,
  freePort,
  type ServiceProcess,
  spawnService,
  type TestDatabase,
  testRedisUrl,
  uniquePrefix,
  waitForHttp,
} from "@bump/testing";
import { type FilterKeys, filterKeys } from "../keys.ts";
import { ClientModel } from "./client-model.ts";

/** Secret shared by the tests and the processes they start. */
export const SECRET = "filter-test-secret-filter-test-secret-01";
const jwt = createJwt(SECRET);

/** A socket client and what it holds. */
export interface Viewer {
  readonly user: string;
  readonly client: BumpClient;
  readonly model: ClientModel;
  /** Upserts received (entities of `entity` upserts and of snapshots), in order. */
  readonly upserts: PublicEntity[];
  readonly errors: string[];
  snapshots: number;
}

/** A running topology in its own namespace. */
export interface Topology {
  readonly ns: string;
  readonly keys: FilterKeys;
  readonly redis: Redis;
  readonly entities: Producer<EntityEvent>;
  readonly gatewayUrl: string;
  /** Starts filter-processor instance `index` of `instances`; returns its process and port. */
  startProcessor(index: number, instances: number): Promise<{ proc: ServiceProcess; port: number }>;
  viewer(user: string): Promise<Viewer>;
  close(): Promise<void>;
}

/** Starts Redis (shared test server), a database, one gateway, in a fresh namespace. */
export async function topology(): Promise<Topology> {
  const url = await testRedisUrl();
  const ns = uniquePrefix("filter");
  const keys = filterKeys(ns);
  const redis = createRedis(url);
  const database: TestDatabase = await createTestDatabase();
  const procs: ServiceProcess[] = [];
  const clients: BumpClient[] = [];
  const base = { REDIS_URL: url, BUS_NAMESPACE: ns, AUTH_SECRET: SECRET, LOG_LEVEL: "warn", NODE_ENV: "test" };
  const gwPort = await freePort();
  const gw = spawnService("services/websocket/src/main.ts", {
    ...base,
    PORT: String(gwPort),
    GATEWAY_ID: "gw1",
    WS_BUMP_DELIVERY: "false",
    PRESENCE_TTL_MS: "3000",
  });
  procs.push(gw);
  await waitForHttp(`http://127.0.0.1:${gwPort}/ready`, 30_000);
  return {
    ns,
    keys,
    redis,
    entities: new Producer({ redis, keys: keys.entities, schema: entityEvent }),
    gatewayUrl: `ws://127.0.0.1:${gwPort}/ws`,
    async startProcessor(index, instances) {
      const port = await freePort();
      const proc = spawnService("services/filter-processor/src/main.ts", {
        ...base,
        DATABASE_URL: database.url,
        PORT: String(port),
        FILTER_INSTANCES: String(instances),
        FILTER_INSTANCE_INDEX: String(index),
        FILTER_BATCH_MS: "20",
        FILTER_SNAPSHOT_INTERVAL_MS: "300",
        FILTER_SNAPSHOT_MAX: "100000",
      });
      procs.push(proc);
      try {
        await waitForHttp(`http://127.0.0.1:${port}/ready`, 60_000);
      } catch (err) {
        throw new Error(`filter-processor never ready:\n${proc.output().slice(-2000)}`, { cause: err });
      }
      return { proc, port };
    },
    async viewer(user) {
      const client = new BumpClient({ url: `ws://127.0.0.1:${gwPort}/ws`, token: () => jwt.sign(user) });
      clients.push(client);
      const v: Viewer = { user, client, model: new ClientModel(), upserts: [], errors: [], snapshots: 0 };
      const onFrame = (f: unknown) => {
        const text = JSON.stringify(f);
        serverFrame.parse(f);
        const { upserts } = v.model.apply(text);
        v.upserts.push(...upserts);
      };
      client.on("entity", onFrame);
      client.on("entities", (f) => {
        v.snapshots++;
        onFrame(f);
      });
      client.on("error", (f) => v.errors.push(f.code));
      await client.connect();
      return v;
    },
    async close() {
      for (const c of clients) c.close();
      await Promise.all(procs.map((p) => p.kill9().catch(() => {})));
      redis.disconnect();
      await database.close();
    },
  };
}

/** Reads one Prometheus sample (first series of `name`) from a service's /metrics. */
export async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}
