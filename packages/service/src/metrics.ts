/** Label values of one series, in the order the metric declared its label names. */
type LabelValues = readonly string[];

interface Metric {
  readonly name: string;
  render(out: string[]): void;
}

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

function labelText(names: readonly string[], values: LabelValues, extra?: string): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? "")}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(",")}}` : "";
}

/** One series of a {@link Counter}, resolved once so that counting needs no label lookup. */
export interface CounterSeries {
  /** Adds `n` (default 1). */
  inc(n?: number): void;
}

/** One series of a {@link Histogram}, resolved once so that observing needs no label lookup. */
export interface HistogramSeries {
  /** Records one observation `v`. */
  observe(v: number): void;
}

/** A monotonically increasing counter with labels. */
export class Counter implements Metric {
  private readonly series = new Map<string, { values: LabelValues; value: number }>();
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly labels: readonly string[] = [],
  ) {}
  /** Adds `n` (default 1) to the series with these label values. */
  inc(values: LabelValues = [], n = 1): void {
    this.seriesOf(values).value += n;
  }
  /**
   * The series with these label values, for a caller that counts into it often. It is rendered from its
   * first `inc` on, like a series counted through {@link Counter.inc}.
   */
  child(values: LabelValues): CounterSeries {
    let s: { value: number } | undefined;
    return {
      inc: (n = 1) => {
        s ??= this.seriesOf(values);
        s.value += n;
      },
    };
  }
  private seriesOf(values: LabelValues): { values: LabelValues; value: number } {
    const key = values.join("\u0000");
    let s = this.series.get(key);
    if (!s) {
      s = { values: [...values], value: 0 };
      this.series.set(key, s);
    }
    return s;
  }
  /** Current value of one series (0 when absent). */
  get(values: LabelValues = []): number {
    return this.series.get(values.join("\u0000"))?.value ?? 0;
  }
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`);
    for (const s of this.series.values()) out.push(`${this.name}${labelText(this.labels, s.values)} ${s.value}`);
  }
}

/** A gauge: set directly, or computed by a collector at scrape time. */
export class Gauge implements Metric {
  private readonly series = new Map<string, { values: LabelValues; value: number }>();
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly labels: readonly string[] = [],
  ) {}
  set(values: LabelValues, value: number): void {
    this.series.set(values.join("\u0000"), { values: [...values], value });
  }
  inc(values: LabelValues = [], n = 1): void {
    const key = values.join("\u0000");
    const s = this.series.get(key);
    if (s) s.value += n;
    else this.series.set(key, { values: [...values], value: n });
  }
  get(values: LabelValues = []): number {
    return this.series.get(values.join("\u0000"))?.value ?? 0;
  }
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`);
    for (const s of this.series.values()) out.push(`${this.name}${labelText(this.labels, s.values)} ${s.value}`);
  }
}

/** Default latency buckets in seconds: 0.5 ms to 10 s. */
export const latencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface HistogramData {
  values: LabelValues;
  counts: number[];
  sum: number;
  count: number;
}

/** A cumulative histogram with labels (Prometheus semantics). */
export class Histogram implements Metric {
  private readonly series = new Map<string, HistogramData>();
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly labels: readonly string[] = [],
    private readonly buckets: readonly number[] = latencyBuckets,
  ) {}
  /** Records one observation `v` (seconds for latency histograms). */
  observe(values: LabelValues, v: number): void {
    this.record(this.seriesOf(values), v);
  }
  /**
   * The series with these label values, for a caller that observes into it often. It is rendered from its
   * first `observe` on, like a series observed through {@link Histogram.observe}.
   */
  child(values: LabelValues): HistogramSeries {
    let s: HistogramData | undefined;
    return {
      observe: (v) => {
        s ??= this.seriesOf(values);
        this.record(s, v);
      },
    };
  }
  private seriesOf(values: LabelValues): HistogramData {
    const key = values.join("\u0000");
    let s = this.series.get(key);
    if (!s) {
      s = { values: [...values], counts: new Array(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    return s;
  }
  private record(s: HistogramData, v: number): void {
    const buckets = this.buckets;
    for (let i = 0; i < buckets.length; i++) {
      if (v <= (buckets[i] as number)) {
        s.counts[i] = (s.counts[i] ?? 0) + 1;
        break;
      }
    }
    s.sum += v;
    s.count++;
  }
  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`);
    for (const s of this.series.values()) {
      let acc = 0;
      for (let i = 0; i < this.buckets.length; i++) {
        acc += s.counts[i] ?? 0;
        out.push(`${this.name}_bucket${labelText(this.labels, s.values, `le="${this.buckets[i]}"`)} ${acc}`);
      }
      out.push(`${this.name}_bucket${labelText(this.labels, s.values, 'le="+Inf"')} ${s.count}`);
      out.push(`${this.name}_sum${labelText(this.labels, s.values)} ${s.sum}`);
      out.push(`${this.name}_count${labelText(this.labels, s.values)} ${s.count}`);
    }
  }
}

/** Runs before each scrape, to refresh gauges computed from Redis or memory. */
export type Collector = () => Promise<void> | void;

/** A set of metrics rendered together in the Prometheus text format. */
export class Registry {
  private readonly metrics = new Map<string, Metric>();
  private readonly collectors: Collector[] = [];

  /** Returns the registered metric of that name, registering `create()` the first time. */
  getOrCreate<M extends Metric>(name: string, create: () => M): M {
    const existing = this.metrics.get(name);
    if (existing) return existing as M;
    const m = create();
    this.metrics.set(name, m);
    return m;
  }
  counter(name: string, help: string, labels: readonly string[] = []): Counter {
    return this.getOrCreate(name, () => new Counter(name, help, labels));
  }
  gauge(name: string, help: string, labels: readonly string[] = []): Gauge {
    return this.getOrCreate(name, () => new Gauge(name, help, labels));
  }
  histogram(name: string, help: string, labels: readonly string[] = [], buckets?: readonly number[]): Histogram {
    return this.getOrCreate(name, () => new Histogram(name, help, labels, buckets));
  }
  /** Adds a collector run before every render; a failing collector is skipped, not fatal. */
  addCollector(c: Collector): void {
    this.collectors.push(c);
  }
  /** Renders every metric in the Prometheus text exposition format. */
  async render(): Promise<string> {
    await Promise.all(
      this.collectors.map(async (c) => {
        try {
          await c();
        } catch {
          // A collector that cannot read its source leaves its gauges at their last value.
        }
      }),
    );
    const out: string[] = [];
    for (const m of this.metrics.values()) m.render(out);
    return `${out.join("\n")}\n`;
  }
}
