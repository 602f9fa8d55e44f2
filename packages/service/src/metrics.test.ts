import { describe, expect, test } from "bun:test";
import { Registry } from "./metrics.ts";

describe("metrics", () => {
  test("a child series renders exactly as the same counts through inc and observe", async () => {
    const viaLabels = new Registry();
    const viaChild = new Registry();
    const labels = ["POST", "/v1/x", "202"];
    for (const r of [viaLabels, viaChild]) {
      r.counter("reqs", "requests", ["method", "route", "status"]);
      r.histogram("secs", "latency", ["method", "route", "status"]);
    }
    const observations = [0.0001, 0.003, 0.2, 20];
    const c = viaLabels.counter("reqs", "", []);
    const h = viaLabels.histogram("secs", "", []);
    for (const v of observations) {
      c.inc(labels);
      h.observe(labels, v);
    }
    const cc = viaChild.counter("reqs", "", []).child(labels);
    const hc = viaChild.histogram("secs", "", []).child(labels);
    expect(await viaChild.render()).not.toContain("reqs{");
    for (const v of observations) {
      cc.inc();
      hc.observe(v);
    }
    const text = await viaChild.render();
    expect(text).toBe(await viaLabels.render());
    expect(text).toContain('reqs{method="POST",route="/v1/x",status="202"} 4');
    expect(text).toContain('secs_bucket{method="POST",route="/v1/x",status="202",le="0.005"} 2');
    expect(text).toContain('secs_count{method="POST",route="/v1/x",status="202"} 4');
  });

  test("a child and inc with the same labels add to one series", async () => {
    const r = new Registry();
    const c = r.counter("n", "n", ["k"]);
    const child = c.child(["a"]);
    c.inc(["a"]);
    child.inc(2);
    c.inc(["a"], 3);
    expect(c.get(["a"])).toBe(6);
    expect((await r.render()).match(/^n\{/gm)).toHaveLength(1);
  });
});
