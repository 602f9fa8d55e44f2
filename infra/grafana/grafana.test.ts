import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "../..");
const dashboard = JSON.parse(readFileSync(join(import.meta.dir, "bump-realtime.json"), "utf8")) as {
  uid: string;
  panels: { id: number; type: string; title: string; targets?: { expr: string; refId: string }[] }[];
};

/** Every `.ts` source file (tests excluded) under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === "node_modules") return [];
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith(".ts") && !path.endsWith(".test.ts") ? [path] : [];
  });
}

/** Metric name -> kind, for every metric the services and packages register. */
function exported(): Map<string, string> {
  const out = new Map<string, string>();
  const files = ["packages", "services"].flatMap((d) =>
    readdirSync(join(root, d)).flatMap((p) => sources(join(root, d, p, "src"))),
  );
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/\.(counter|gauge|histogram)\(\s*"([a-z_][a-z0-9_]*)"/g)) {
      out.set(m[2] as string, m[1] as string);
    }
  }
  return out;
}

const promqlWords = new Set(["histogram_quantile", "rate_interval", "__rate_interval"]);

/** Metric names a PromQL expression reads (label names and functions have no underscore-free ambiguity here). */
function metricsOf(expr: string): string[] {
  const withoutLabels = expr.replace(/\{[^}]*\}/g, "").replace(/\b(by|without)\s*\([^)]*\)/g, "");
  return [...withoutLabels.matchAll(/\b([a-z][a-z0-9]*(?:_[a-z0-9]+)+)\b/g)]
    .map((m) => m[1] as string)
    .filter((w) => !promqlWords.has(w));
}

const panels = dashboard.panels.filter((p) => p.type !== "row");
const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

describe("infra/grafana/bump-realtime.json", () => {
  test("is a dashboard with unique panel ids, every panel querying something", () => {
    expect(dashboard.uid).toBe("bump-realtime");
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels)
      expect({ panel: p.title, targets: (p.targets ?? []).length > 0 }).toEqual({ panel: p.title, targets: true });
  });

  test("every metric it references is exported by some service's code, histograms through _bucket", () => {
    const known = exported();
    expect(known.size).toBeGreaterThan(20);
    const unknown: string[] = [];
    for (const { panel, expr } of exprs) {
      for (const name of metricsOf(expr)) {
        const bucket = name.endsWith("_bucket") ? name.slice(0, -"_bucket".length) : undefined;
        if (bucket ? known.get(bucket) === "histogram" : known.has(name) && known.get(name) !== "histogram") continue;
        unknown.push(`${panel}: ${name}`);
      }
    }
    expect(unknown).toEqual([]);
  });

  test("covers lag, pending, dead letters, throughput, latency, sockets, frame loss and jobs", () => {
    const used = new Set(exprs.flatMap(({ expr }) => metricsOf(expr)));
    for (const name of [
      "bus_lag",
      "bus_pending",
      "bus_dead_letters",
      "bus_processed_total",
      "bus_handler_seconds_bucket",
      "bump_detection_seconds_bucket",
      "filter_change_to_flush_seconds_bucket",
      "ws_sockets",
      "ws_frames_dropped_total",
      "ws_frames_coalesced_total",
      "ws_slow_consumers_evicted_total",
      "jobs_queue",
      "jobs_completed_total",
    ]) {
      expect({ name, used: used.has(name) }).toEqual({ name, used: true });
    }
    for (const { expr } of exprs.filter((e) => e.expr.includes("histogram_quantile"))) {
      expect(expr).toMatch(/rate\([a-z0-9_]+_bucket\[/);
      expect(expr).toMatch(/by \(le[,)]/);
    }
  });
});
