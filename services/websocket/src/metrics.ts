import type { Counter, CounterSeries, Gauge, Registry } from "@bump/service";

/** The gateway's Prometheus metrics. */
export interface GatewayMetrics {
  /** Frames written to sockets; `sentSeries` is its one series, for the write path. */
  sent: Counter;
  sentSeries: CounterSeries;
  /** Socket writes: a frame sent alone, or the frames of one corked batch; `writesSeries` for the write path. */
  writes: Counter;
  writesSeries: CounterSeries;
  /** Volatile frames replaced by a newer one with the same key while waiting. */
  coalesced: Counter;
  /** Volatile frames dropped from an outbox over its byte limit. */
  dropped: Counter;
  /** Sockets closed with 4008 (slow consumer). */
  evicted: Counter;
  /** Reliable frames read from history to fill a gap or resume, and fills run. */
  filled: Counter;
  fills: Counter;
  /** Duplicate reliable frames dropped. */
  duplicates: Counter;
  /** Inbound frames by type, and refused inbound frames by error code. */
  inbound: Counter;
  inboundErrors: Counter;
  /** Closes by code. */
  closes: Counter;
  /** Open authenticated sockets; bytes waiting in outboxes and socket buffers; largest single outbox. */
  sockets: Gauge;
  buffered: Gauge;
  outboxMax: Gauge;
}

/** Registers the gateway metrics on `registry`. */
export function gatewayMetrics(registry: Registry): GatewayMetrics {
  const sent = registry.counter("ws_frames_sent_total", "Frames written to sockets");
  const writes = registry.counter(
    "ws_socket_writes_total",
    "Socket writes: a frame sent alone or one corked batch of frames (frames sent / writes = frames per write)",
  );
  return {
    sent,
    sentSeries: sent.child([]),
    writes,
    writesSeries: writes.child([]),
    coalesced: registry.counter("ws_frames_coalesced_total", "Volatile frames replaced by a newer one of the same key"),
    dropped: registry.counter("ws_frames_dropped_total", "Volatile frames dropped from a full outbox"),
    evicted: registry.counter("ws_slow_consumers_evicted_total", "Sockets closed with 4008"),
    filled: registry.counter("ws_history_frames_total", "Reliable frames read from history (gap fill, resume)"),
    fills: registry.counter("ws_history_reads_total", "History reads (gap fill, resume, head check)"),
    duplicates: registry.counter("ws_duplicates_dropped_total", "Duplicate reliable frames dropped"),
    inbound: registry.counter("ws_inbound_frames_total", "Inbound frames accepted, by type", ["type"]),
    inboundErrors: registry.counter("ws_inbound_errors_total", "Inbound frames refused, by code", ["code"]),
    closes: registry.counter("ws_closes_total", "Sockets closed by the gateway, by code", ["code"]),
    sockets: registry.gauge("ws_sockets", "Open authenticated sockets"),
    buffered: registry.gauge("ws_buffered_bytes", "Bytes waiting in outboxes and socket send buffers"),
    outboxMax: registry.gauge("ws_outbox_max_bytes", "Bytes waiting in the fullest outbox"),
  };
}
