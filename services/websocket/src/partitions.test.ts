import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fixCell, PARTITION_RES, partitionsFor } from "@bump/geo";
import { createRedis, partitionedStreamKeys, streamNames } from "@bump/streams";
import { testRedisUrl } from "@bump/testing";
import { cellToBoundary, cellToParent } from "h3-js";
import { eventually, type GatewayProcess, type Harness, harness } from "./testing/harness.ts";

const PARTITIONS = 4;
let h: Harness;
let gw: GatewayProcess;
let redis: ReturnType<typeof createRedis>;
beforeAll(async () => {
  h = await harness();
  redis = createRedis(await testRedisUrl());
  gw = await h.gateway({ BUMP_PARTITIONS: String(PARTITIONS) });
});
afterAll(async () => {
  await h.close();
  redis.disconnect();
});

/** A point on the border of a partition region whose fixes go to more than one partition. */
function borderPoint(): { latitude: number; longitude: number } {
  const ring = cellToBoundary(cellToParent(fixCell(52.52, 13.4), PARTITION_RES));
  for (let v = 0; v < ring.length; v++) {
    const [aLat, aLng] = ring[v] as [number, number];
    const [bLat, bLng] = ring[(v + 1) % ring.length] as [number, number];
    for (let t = 0.1; t < 0.95; t += 0.1) {
      const p = { latitude: aLat + (bLat - aLat) * t, longitude: aLng + (bLng - aLng) * t };
      if (partitionsFor(fixCell(p.latitude, p.longitude), PARTITIONS).length > 1) return p;
    }
  }
  throw new Error("no border point found");
}

describe("location frames with BUMP_PARTITIONS", () => {
  test("each fix lands on every partition that may pair it, once, and is acked once", async () => {
    const keys = partitionedStreamKeys(streamNames.locations, { ns: h.ns, partitions: PARTITIONS });
    const inner = { latitude: 52.52, longitude: 13.405 };
    const border = borderPoint();
    const ids = { inner: crypto.randomUUID(), border: crypto.randomUUID() };
    const want = {
      inner: partitionsFor(fixCell(inner.latitude, inner.longitude), PARTITIONS),
      border: partitionsFor(fixCell(border.latitude, border.longitude), PARTITIONS),
    };
    expect(want.border.length).toBeGreaterThan(1);

    const rec = h.client(gw, "pia");
    await rec.client.connect();
    rec.client.sendLocation({ ...inner, id: ids.inner });
    rec.client.sendLocation({ ...border, id: ids.border });
    rec.client.sendLocation({ ...border, id: ids.border });
    await eventually(() => rec.frames.filter((f) => f.type === "ack").length === 3);

    const onPartition = async (p: number) =>
      ((await redis.xrange(keys[p]?.stream ?? "", "-", "+")) as [string, string[]][]).map(
        ([, f]) => (JSON.parse(f[1] as string) as { id: string }).id,
      );
    for (let p = 0; p < PARTITIONS; p++) {
      const expected = [
        ...(want.inner.includes(p) ? [ids.inner] : []),
        ...(want.border.includes(p) ? [ids.border] : []),
      ];
      expect((await onPartition(p)).sort()).toEqual(expected.sort());
    }
    const unpartitioned = partitionedStreamKeys(streamNames.locations, { ns: h.ns })[0]?.stream ?? "";
    expect(await redis.xlen(unpartitioned)).toBe(0);
  });
});
