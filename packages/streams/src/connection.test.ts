import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, type RedisServer, startRedisServer, uniquePrefix, waitFor } from "@bump/testing";
import { z } from "zod";
import type { RedisClient as Redis } from "./connection.ts";
import { type ConnectionOptions, Consumer, createRedis, Producer, streamKeys } from "./index.ts";

const schema = z.strictObject({ n: z.number().int() });
const password = "pw-for-the-default-user";
const aclUser = ["bump-app", "on", ">pw-for-bump-app", "~*", "&*", "+@all"];

let certDir: string;
let plain: RedisServer;
let secure: RedisServer;
const opened: Redis[] = [];

function openssl(...args: string[]): void {
  const run = Bun.spawnSync(["openssl", ...args], { cwd: certDir, stdout: "ignore", stderr: "pipe" });
  if (run.exitCode !== 0) throw new Error(`openssl ${args[0]} failed: ${run.stderr.toString()}`);
}

/** A throwaway CA and a server certificate it signed, for 127.0.0.1 and localhost. */
function makeCertificates(): void {
  certDir = mkdtempSync(join(tmpdir(), "bump-tls-"));
  openssl(
    ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=bump-test-ca"],
    ...["-keyout", "ca.key", "-out", "ca.crt"],
  );
  openssl(
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-subj",
    "/CN=localhost",
    "-keyout",
    "redis.key",
    "-out",
    "redis.csr",
  );
  writeFileSync(join(certDir, "san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  openssl(
    ...["x509", "-req", "-in", "redis.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"],
    ...["-out", "redis.crt", "-days", "1", "-extfile", "san.ext"],
  );
}

beforeAll(async () => {
  makeCertificates();
  const auth = ["--requirepass", password, "--user", ...aclUser];
  plain = await startRedisServer({ args: auth });
  const tlsPort = await freePort();
  secure = await startRedisServer({
    port: tlsPort,
    args: [
      ...auth,
      ...["--port", "0", "--tls-port", String(tlsPort), "--tls-auth-clients", "no"],
      ...["--tls-cert-file", join(certDir, "redis.crt"), "--tls-key-file", join(certDir, "redis.key")],
      ...["--tls-ca-cert-file", join(certDir, "ca.crt")],
    ],
  });
});

afterAll(async () => {
  for (const r of opened) r.disconnect();
  await plain?.stop();
  await secure?.stop();
  rmSync(certDir, { recursive: true, force: true });
});

function open(url: string, role: "commands" | "producer" | "blocking", options: ConnectionOptions = {}): Redis {
  const redis = createRedis(url, role, options);
  opened.push(redis);
  return redis;
}

/** Adds through a `producer` connection and reads back through a consumer group on `commands` connections. */
async function roundTrip(url: string, options: ConnectionOptions): Promise<number[]> {
  const producerRedis = open(url, "producer", options);
  const redis = open(url, "commands", options);
  await waitFor(async () => producerRedis.status === "ready", { timeoutMs: 5_000, what: "producer connection" });
  const keys = streamKeys("conn", { ns: uniquePrefix() });
  const producer = new Producer({ redis: producerRedis, keys, schema });
  const seen: number[] = [];
  const consumer = new Consumer({
    redis,
    keys,
    group: "g",
    schema,
    handler: async (batch) => {
      for (const m of batch) seen.push(m.data.n);
    },
  });
  await consumer.start();
  try {
    await producer.add({ n: 1 });
    await producer.addMany([{ n: 2 }, { n: 3 }]);
    await waitFor(async () => seen.length >= 3, { timeoutMs: 10_000, what: "three entries consumed" });
  } finally {
    await consumer.close();
  }
  return seen.sort();
}

describe("createRedis with credentials", () => {
  test("a password in the URL authenticates the default user: producer add and consumer read work", async () => {
    expect(await roundTrip(`redis://:${password}@127.0.0.1:${plain.port}`, {})).toEqual([1, 2, 3]);
  });

  test("an ACL user and password in the URL authenticate that user", async () => {
    const redis = open(`redis://bump-app:pw-for-bump-app@127.0.0.1:${plain.port}`, "commands");
    expect(await redis.call("ACL", "WHOAMI")).toBe("bump-app");
    expect(await roundTrip(`redis://bump-app:pw-for-bump-app@127.0.0.1:${plain.port}`, {})).toEqual([1, 2, 3]);
  });

  test("a wrong password fails commands with WRONGPASS and reports it once through onConnectionError", async () => {
    const errors: string[] = [];
    const redis = open(`redis://:not-the-password@127.0.0.1:${plain.port}`, "commands", {
      onConnectionError: (e) => errors.push(e.message),
    });
    await expect(redis.ping()).rejects.toThrow(/WRONGPASS/);
    await waitFor(async () => errors.length > 0, { timeoutMs: 5_000, what: "a reported connection error" });
    await Bun.sleep(500);
    expect(errors.filter((m) => m.includes("WRONGPASS"))).toHaveLength(1);
  });

  test("no password against a server that requires one fails with NOAUTH", async () => {
    const redis = open(`redis://127.0.0.1:${plain.port}`, "commands");
    await expect(redis.ping()).rejects.toThrow(/NOAUTH/);
  });
});

describe("createRedis over TLS (rediss://)", () => {
  test("with the CA file, producer add and consumer read work, authenticated", async () => {
    const url = `rediss://:${password}@127.0.0.1:${secure.port}`;
    expect(await roundTrip(url, { tlsCaFile: join(certDir, "ca.crt") })).toEqual([1, 2, 3]);
  });

  test("an ACL user over TLS with the CA file, and a blocking connection too", async () => {
    const url = `rediss://bump-app:pw-for-bump-app@127.0.0.1:${secure.port}`;
    const blocking = open(url, "blocking", { tlsCaFile: join(certDir, "ca.crt") });
    expect(await blocking.call("ACL", "WHOAMI")).toBe("bump-app");
    expect(await roundTrip(url, { tlsCaFile: join(certDir, "ca.crt") })).toEqual([1, 2, 3]);
  });

  test("tlsInsecure connects without the CA (verification skipped)", async () => {
    const url = `rediss://:${password}@127.0.0.1:${secure.port}`;
    expect(await roundTrip(url, { tlsInsecure: true })).toEqual([1, 2, 3]);
  });

  test("without the CA the self-signed certificate is refused, and the reason is reported", async () => {
    const errors: string[] = [];
    const redis = open(`rediss://:${password}@127.0.0.1:${secure.port}`, "producer", {
      onConnectionError: (e) => errors.push(e.message),
    });
    await waitFor(async () => errors.length > 0, { timeoutMs: 5_000, what: "a reported connection error" });
    expect(errors[0]).toMatch(/certificate/i);
    await expect(redis.ping()).rejects.toThrow();
    expect(redis.status).not.toBe("ready");
  });

  test("a wrong password over TLS fails with WRONGPASS", async () => {
    const redis = open(`rediss://:nope@127.0.0.1:${secure.port}`, "commands", { tlsCaFile: join(certDir, "ca.crt") });
    await expect(redis.ping()).rejects.toThrow(/WRONGPASS/);
  });

  test("a plain redis:// URL against the TLS port never becomes ready", async () => {
    const errors: string[] = [];
    const redis = open(`redis://:${password}@127.0.0.1:${secure.port}`, "producer", {
      onConnectionError: (e) => errors.push(e.message),
    });
    await waitFor(async () => errors.length > 0, { timeoutMs: 5_000, what: "a reported connection error" });
    await expect(redis.ping()).rejects.toThrow();
    expect(redis.status).not.toBe("ready");
  });
});
