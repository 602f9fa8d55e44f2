/** Log severity, lowest first. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Structured fields attached to a log line. Never put tokens or message contents here. */
export type LogFields = Record<string, unknown>;

/** A structured JSON logger writing one line per record to stdout (stderr for errors). */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose every line also carries `fields`. */
  child(fields: LogFields): Logger;
}

function serialise(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

/** Creates a logger for `service`; lines below `level` (default `info`) are dropped. */
export function createLogger(service: string, level: LogLevel = "info", base: LogFields = {}): Logger {
  const min = rank[level];
  const write = (lvl: LogLevel, msg: string, fields?: LogFields) => {
    if (rank[lvl] < min) return;
    const record: Record<string, unknown> = { ts: new Date().toISOString(), level: lvl, service, msg, ...base };
    if (fields) for (const [k, v] of Object.entries(fields)) record[k] = serialise(v);
    const line = `${JSON.stringify(record)}\n`;
    if (lvl === "error") process.stderr.write(line);
    else process.stdout.write(line);
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (fields) => createLogger(service, level, { ...base, ...fields }),
  };
}

/** A logger that drops everything; for tests and benchmarks. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child: () => silentLogger,
};
