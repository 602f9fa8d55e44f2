import type { LocationEvent } from "@bump/contracts";
import type { BumpRules } from "@bump/geo";
import { type Logger, Registry, silentLogger } from "@bump/service";
import type { RedisClient as Redis } from "@bump/streams";
import { Consumer, idTime, type Message } from "@bump/streams";
import { BumpDetector, type Detection } from "./detector.ts";
import type { DetectorKeys } from "./keys.ts";
import { checkLocationEntry, decodeLocationEntryBytes, locationEntryDecoder } from "./location-decode.ts";
import { type DetectorMetrics, detectorMetrics } from "./metrics.ts";
import { createProximityIndex, type ProximityKind } from "./proximity.ts";
import { BumpRecorder } from "./recorder.ts";
import { recoverDetector } from "./recovery.ts";

/** The consumer group of every bump-detector. */
export const DETECTOR_GROUP = "bump-detector";

/** Options of {@link BumpDetectorService}. */
export interface DetectorServiceOptions {
  redis: Redis;
  keys: DetectorKeys;
  rules: BumpRules;
  /** Proximity index implementation. Default `grid`. */
  index?: ProximityKind;
  /** Most entries per read (an entry holds one fix or up to `MAX_ENTRY_FIXES`). Default 250. */
  batchSize?: number;
  /**
   * Fixes per read aimed at: each read takes as many entries (at most `batchSize`) as hold about this many fixes
   * at the size of the last batch's entries. Reads of tens of thousands of fixes cost more per fix in the detector
   * and in Redis. Default 2,000.
   */
  readFixes?: number;
  /** Extra stream history read when rebuilding, covering clock skew between ingest hosts and Redis, ms. Default 5,000. */
  rebuildMarginMs?: number;
  /** Approximate cap of the bumps stream. Default 1,000,000. */
  bumpsMaxLen?: number;
  /** Longest block of one read, ms. Default 1,000. */
  blockMs?: number;
  registry?: Registry;
  logger?: Logger;
}

/**
 * One bump-detector: owns a locations stream (or partition) through the `bump-detector` group. Exactly one
 * instance per partition: fixes must be applied in stream order. On start it rebuilds the index from the last
 * window of the stream and replays what a crashed predecessor left pending, before it consumes new entries.
 * Every bump is appended once (the cooldown script), whatever crashes and redeliveries happen.
 */
export class BumpDetectorService {
  readonly detector: BumpDetector;
  private readonly recorder: BumpRecorder;
  private readonly consumer: Consumer<LocationEvent[]>;
  private readonly metrics: DetectorMetrics;
  private readonly log: Logger;
  private closed = false;
  /** The recording of the last batch's bumps; each batch's recording starts after the one before succeeded. */
  private recording: Promise<void> = Promise.resolve();
  /** Entries per read now (see `readFixes`). */
  private readSize: number;

  constructor(private readonly opts: DetectorServiceOptions) {
    const registry = opts.registry ?? new Registry();
    this.log = opts.logger ?? silentLogger;
    this.readSize = opts.batchSize ?? 250;
    this.metrics = detectorMetrics(registry);
    this.detector = new BumpDetector(createProximityIndex(opts.index ?? "grid", opts.rules.radiusM), opts.rules);
    this.recorder = new BumpRecorder({
      redis: opts.redis,
      keys: opts.keys,
      cooldownMs: opts.rules.cooldownMs,
      bumpsMaxLen: opts.bumpsMaxLen,
    });
    this.consumer = new Consumer<LocationEvent[]>({
      redis: opts.redis,
      keys: opts.keys.locations,
      group: DETECTOR_GROUP,
      schema: locationEntryDecoder,
      accept: checkLocationEntry,
      decodeBytes: decodeLocationEntryBytes,
      batchSize: opts.batchSize ?? 250,
      readAhead: true,
      blockMs: opts.blockMs,
      // Keep the window (and the margin) in the stream for the next rebuild.
      retainMs: opts.rules.windowMs + (opts.rebuildMarginMs ?? 5_000) + 30_000,
      handler: async (batch) => ({ pending: this.apply(batch) }),
      registry,
      logger: this.log,
    });
    registry.addCollector(() => this.metrics.indexSize.set([], this.detector.size));
  }

  /** True once the index is rebuilt and the consumer runs. */
  get ready(): boolean {
    return this.consumer.isRunning;
  }

  /** Rebuilds the index, replays entries left pending, then starts consuming. */
  async start(): Promise<void> {
    const { rebuilt, replayed } = await recoverDetector({
      redis: this.opts.redis,
      stream: this.opts.keys.locations.stream,
      group: DETECTOR_GROUP,
      windowMs: this.opts.rules.windowMs + (this.opts.rebuildMarginMs ?? 5_000),
      detector: this.detector,
      apply: (batch) => this.apply(batch),
    });
    this.log.info("index rebuilt", { rebuilt, replayed, users: this.detector.size });
    if (!this.closed) await this.consumer.start();
  }

  /** Stops consuming after the batch in flight is recorded and acked. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await this.consumer.close();
  }

  /**
   * Applies a batch in order (at once) and records its bumps (the returned promise), after the bumps of every
   * earlier batch. Recording is retried until Redis takes it: the batch stays unacked meanwhile, so a process
   * killed here replays it on restart instead of losing its bumps.
   */
  private apply(batch: readonly Message<LocationEvent[]>[]): Promise<void> {
    const detections: Detection[] = [];
    const sources: number[] = [];
    const before = this.detector.stats.candidates;
    let fixes = 0;
    for (const m of batch) {
      const events = m.data;
      fixes += events.length;
      let source = -1;
      for (let i = 0; i < events.length; i++) {
        const found = this.detector.observe(events[i] as LocationEvent);
        if (found.length === 0) continue;
        if (source < 0) source = idTime(m.id);
        for (const d of found) {
          detections.push(d);
          sources.push(source);
        }
      }
    }
    this.metrics.fixes.inc([], fixes);
    this.sizeReads(batch.length, fixes);
    this.metrics.candidates.inc([], this.detector.stats.candidates - before);
    if (detections.length === 0) return this.recording;
    this.recording = this.recording.then(() => this.record(detections, sources));
    return this.recording;
  }

  /** Sets the entries of the next reads to hold about `readFixes` fixes, as the last batch's entries did. */
  private sizeReads(entries: number, fixes: number): void {
    if (entries === 0 || fixes === 0) return;
    const most = this.opts.batchSize ?? 250;
    const size = Math.max(1, Math.min(most, Math.round(((this.opts.readFixes ?? 2_000) * entries) / fixes)));
    if (size === this.readSize) return;
    this.readSize = size;
    this.consumer.setBatchSize(size);
  }

  private async record(detections: Detection[], sources: number[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const outcome = await this.recorder.record(detections);
        const now = Date.now();
        for (const i of outcome.appended) this.metrics.latency.observe([], (now - (sources[i] ?? now)) / 1000);
        this.metrics.bumps.inc([], outcome.appended.length);
        this.metrics.cooling.inc([], outcome.cooling);
        return;
      } catch (err) {
        this.log.error("recording bumps failed; retrying", { err, count: detections.length, attempt });
        await Bun.sleep(Math.min(50 * 2 ** Math.min(attempt, 6), 2_000));
      }
    }
  }
}
