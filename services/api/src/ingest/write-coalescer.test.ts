import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type LocationEvent, locationEntry, locationEvent, MAX_ENTRY_FIXES } from "@bump/contracts";
import { partitionsFor } from "@bump/geo";
import type { RedisClient as Redis } from "@bump/streams";
import { createRedis, Producer, streamKeys, streamNames } from "@bump/streams";
import { testRedisUrl, uniquePrefix } from "@bump/testing";
import { encodeFix } from "./location-event.ts";
import { LocationIngest } from "./location-ingest.ts";
import { WriteCoalescer } from "./write-coalescer.ts";

let redis: Redis;
const keys = streamKeys(streamNames.locations, { ns: uniquePrefix("coalesce") });
const PARTITIONS = 3;
const partNs = uniquePrefix("coalesce-parts");
const partKeys = Array.from({ length: PARTITIONS }, (_, partition) =>
  streamKeys(streamNames.locations, { ns: partNs, partition }),
);

beforeAll(async () => {
  redis = createRedis(await testRedisUrl(), "producer");
  // A producer connection fails fast instead of queueing: wait until it is connected.
  if (redis.status !== "ready") await new Promise((resolve) => redis.once("ready", resolve));
});
afterAll(async () => {
  await redis.del(keys.stream, keys.dedupe("u1:00000000-0000-4000-8000-000000000001"));
  redis.disconnect();
});

describe("WriteCoalescer", () => {
  test("writes of one turn share a pipeline; each call's payloads stay contiguous and in order", async () => {
    const pipelines: string[][] = [];
    const coalescer = new WriteCoalescer(async (p) => void pipelines.push([...p]), { maxInFlight: 1 });
    await Promise.all([coalescer.write(["a1", "a2"]), coalescer.write(["b1"]), coalescer.write(["c1", "c2", "c3"])]);
    expect(pipelines).toEqual([["a1", "a2", "b1", "c1", "c2", "c3"]]);
    await coalescer.write(["d1"]);
    expect(pipelines).toHaveLength(2);
  });

  test("writes made while a pipeline is in flight go together in the next one", async () => {
    const pipelines: string[][] = [];
    let release: () => void = () => {};
    const coalescer = new WriteCoalescer(
      (p) => {
        pipelines.push([...p]);
        return pipelines.length === 1 ? new Promise<void>((r) => (release = r)) : Promise.resolve();
      },
      { maxInFlight: 1 },
    );
    const first = coalescer.write(["x"]);
    await new Promise((r) => setImmediate(r));
    const later = [coalescer.write(["y"]), coalescer.write(["z"])];
    await new Promise((r) => setTimeout(r, 5));
    expect(pipelines).toEqual([["x"]]);
    release();
    await Promise.all([first, ...later]);
    expect(pipelines).toEqual([["x"], ["y", "z"]]);
  });

  test("by default a small append waits for the one in flight; one of overlapAt entries or more does not", async () => {
    const sent: number[] = [];
    const releases: (() => void)[] = [];
    const coalescer = new WriteCoalescer((p) => {
      sent.push(p.length);
      return new Promise<void>((r) => releases.push(r));
    });
    const turn = () => new Promise((r) => setImmediate(r));
    const first = coalescer.write(["a"]);
    await turn();
    const small = coalescer.write(["b", "c"]);
    await turn();
    expect(sent).toEqual([1]);
    const large = coalescer.write(Array.from({ length: 200 }, (_, i) => `l${i}`));
    await turn();
    expect(sent).toEqual([1, 202]);
    const after = coalescer.write(["d"]);
    await turn();
    expect(sent).toEqual([1, 202]);
    releases[0]?.();
    await first;
    await turn();
    expect(sent).toEqual([1, 202]);
    releases[1]?.();
    await Promise.all([small, large]);
    await turn();
    expect(sent).toEqual([1, 202, 1]);
    releases[2]?.();
    await after;
  });

  test("a failed pipeline rejects every call in it, and the next one is unaffected", async () => {
    let fail = true;
    const coalescer = new WriteCoalescer(async () => {
      if (fail) throw new Error("down");
    });
    const results = await Promise.allSettled([coalescer.write(["a"]), coalescer.write(["b"])]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    fail = false;
    await coalescer.write(["c"]);
  });
});

describe("LocationIngest on a real stream", () => {
  test("concurrent publishes each land whole, in order, and client ids append once", async () => {
    const producer = new Producer<LocationEvent>({ redis, keys, schema: locationEvent });
    const ingest = new LocationIngest(producer);
    const userJson = JSON.stringify("u1");
    const now = Date.now();
    const fixes = (n: number, lat: number) =>
      Array.from({ length: n }, (_, i) => {
        const f = encodeFix(userJson, { latitude: lat, longitude: i / 100, accuracy: i }, now);
        if ("path" in f) throw new Error(f.message);
        return f;
      });
    const calls = Array.from({ length: 20 }, (_, c) => fixes(1 + (c % 5), c));
    const withId = encodeFix(
      userJson,
      {
        latitude: 1,
        longitude: 2,
        id: "00000000-0000-4000-8000-000000000001",
        recorded_at: new Date(now).toISOString(),
      },
      now,
    );
    if ("path" in withId) throw new Error(withId.message);
    const answered = await Promise.all([
      ...calls.map((f) => ingest.publish("u1", f)),
      ingest.publish("u1", [withId]),
      ingest.publish("u1", [withId]),
    ]);
    expect(answered.slice(0, 20)).toEqual(calls.map((f) => f.map((x) => x.id)));
    expect(answered[20]).toEqual([withId.id]);

    const entries = (await redis.xrange(keys.stream, "-", "+")) as [string, string[]][];
    const perEntry = entries.map(([, fields]) => locationEntry.parse(JSON.parse(fields[1] as string)));
    const events = perEntry.flat();
    expect(events).toHaveLength(calls.flat().length + 1);
    // the plain fixes of the concurrent calls share multi-fix entries; the client-id fix has its own entry
    expect(perEntry.length).toBeLessThan(events.length);
    expect(perEntry.find((e) => e.some((f) => f.id === withId.id))).toHaveLength(1);
    expect(events.filter((e) => e.id === withId.id)).toHaveLength(1);
    const plain = events.filter((e) => e.id !== withId.id);
    for (const call of calls) {
      const start = plain.findIndex((e) => e.id === call[0]?.id);
      expect(plain.slice(start, start + call.length).map((e) => e.id)).toEqual(call.map((f) => f.id));
    }
  });
});

describe("LocationIngest over partitions", () => {
  test("each partition gets its fixes in multi-fix entries of at most MAX_ENTRY_FIXES, every fix once, in order", async () => {
    const producers = partKeys.map((k) => new Producer<LocationEvent>({ redis, keys: k, schema: locationEvent }));
    const ingest = new LocationIngest(producers);
    const now = Date.now();
    // fixes along a line crossing several regions, some near their borders (published to more than one partition)
    const request = (r: number) =>
      Array.from({ length: 120 }, (_, i) => {
        const f = encodeFix(JSON.stringify(`u${r}`), { latitude: 48.85 + r / 1000, longitude: i / 10 }, now);
        if ("path" in f) throw new Error(f.message);
        return f;
      });
    const requests = Array.from({ length: 6 }, (_, r) => request(r));
    await Promise.all(requests.map((fixes, r) => ingest.publish(`u${r}`, fixes)));
    const all = requests.flat();
    const copies = all.map((f) => partitionsFor(f.cell, PARTITIONS));
    expect(copies.filter((c) => c.length > 1).length).toBeGreaterThan(0);
    let maxEntry = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const entries = (await redis.xrange(partKeys[p]?.stream ?? "", "-", "+")) as [string, string[]][];
      const perEntry = entries.map(([, fields]) => locationEntry.parse(JSON.parse(fields[1] as string)));
      for (const e of perEntry) maxEntry = Math.max(maxEntry, e.length);
      const want = all.filter((_, i) => copies[i]?.includes(p)).map((f) => f.id);
      const got = perEntry.flat().map((e) => e.id);
      expect([...got].sort()).toEqual([...want].sort());
      // each request's fixes keep their order on the partition
      for (const fixes of requests) {
        const mine = new Set(fixes.map((f) => f.id));
        expect(got.filter((id) => mine.has(id))).toEqual(want.filter((id) => mine.has(id)));
      }
    }
    expect(maxEntry).toBe(MAX_ENTRY_FIXES);
  });
});
