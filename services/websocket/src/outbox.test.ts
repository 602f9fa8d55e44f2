import { describe, expect, test } from "bun:test";
import { Registry } from "@bump/service";
import { gatewayMetrics } from "./metrics.ts";
import { Outbox, type SendTarget } from "./outbox.ts";

/** A socket whose send buffer the test fills and empties. */
function target() {
  const t = {
    buffered: 0,
    sent: [] as string[],
    closedWith: null as number | null,
    send(text: string) {
      t.sent.push(text);
      t.buffered += text.length;
      return text.length;
    },
    getBufferedAmount: () => t.buffered,
    close(code?: number) {
      t.closedWith = code ?? null;
    },
  };
  return t satisfies SendTarget;
}

describe("Outbox", () => {
  test("writes through under the high-water mark, then queues and flushes in order on drain", () => {
    const t = target();
    const box = new Outbox(t, { highWaterBytes: 10, maxBytes: 1000 }, gatewayMetrics(new Registry()));
    box.reliable("aaaaaaaaaaaa");
    box.reliable("b");
    box.volatile("c", null);
    expect(t.sent).toEqual(["aaaaaaaaaaaa"]);
    t.buffered = 0;
    box.drain();
    expect(t.sent).toEqual(["aaaaaaaaaaaa", "b", "c"]);
  });

  test("coalesces waiting volatile frames by key, latest wins in the first one's place", () => {
    const t = target();
    const m = gatewayMetrics(new Registry());
    const box = new Outbox(t, { highWaterBytes: 10, maxBytes: 1000 }, m);
    t.buffered = 100;
    box.reliable("first");
    box.volatile("e1:v1", "e1");
    box.reliable("r");
    box.volatile("e1:v2", "e1");
    t.buffered = 0;
    box.drain();
    expect(t.sent).toEqual(["first", "e1:v2", "r"]);
    expect(m.coalesced.get()).toBe(1);
  });

  test("over its limit it drops volatile frames first, then closes 4008 and holds nothing", () => {
    const t = target();
    const m = gatewayMetrics(new Registry());
    const box = new Outbox(t, { highWaterBytes: 0, maxBytes: 20 }, m);
    t.buffered = 1;
    box.volatile("vvvvvvvvvv", "a");
    box.reliable("rrrrrrrrrr");
    box.reliable("ssssssssss");
    expect(m.dropped.get()).toBe(1);
    expect(t.closedWith).toBeNull();
    box.reliable("tttttttttt");
    expect(t.closedWith).toBe(4008);
    expect(box.waitingBytes).toBe(0);
    expect(m.evicted.get()).toBe(1);
  });

  test("held writes go out in order in one corked write on release", () => {
    const t = target();
    let corks = 0;
    const corking = Object.assign(t, {
      cork(fn: () => void) {
        corks++;
        fn();
      },
    });
    const m = gatewayMetrics(new Registry());
    const box = new Outbox(corking, { highWaterBytes: 1000, maxBytes: 10_000 }, m);
    box.hold();
    box.reliable("a");
    box.volatile("b", "k");
    box.reliable("c");
    expect(t.sent).toEqual([]);
    box.release();
    expect(t.sent).toEqual(["a", "b", "c"]);
    expect(corks).toBe(1);
    box.reliable("d");
    expect(t.sent).toEqual(["a", "b", "c", "d"]);
    // four frames in two socket writes: the corked three, then "d" alone
    expect(m.sent.get()).toBe(4);
    expect(m.writes.get()).toBe(2);
  });
});
