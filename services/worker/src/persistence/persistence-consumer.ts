import type { Logger, Registry } from "@bump/service";
import type { RedisClient as Redis } from "@bump/streams";
import { Consumer, type Message, type StreamKeys } from "@bump/streams";
import type { ZodType } from "zod";
import { isConnectionError } from "./connection-error.ts";
import { writeThroughOutage } from "./outage.ts";

/** What every persistence consumer needs; built once by `main.ts`. */
export interface PersistenceDeps {
  /** Shared commands connection; each consumer opens its own blocking connection from it. */
  redis: Redis;
  /** Resolves when Postgres answers (`select 1`); used to wait out an outage. */
  probe: () => Promise<unknown>;
  registry: Registry;
  logger: Logger;
  /** Stream namespace (tests use a unique one). Default none. */
  ns?: string;
  /** Entries per read and per INSERT batch. Default: each writer's own. */
  batchSize?: number;
  /** Attempts before an entry whose rows Postgres refuses is dead-lettered. Default 25. */
  maxAttempts?: number;
}

/** A running persistence consumer. */
export interface Persistence {
  readonly name: string;
  /** True while its consumer loop runs (part of `/ready`). */
  isRunning(): boolean;
  /** Stops reading, ends any wait for the database, settles the batch in flight. Idempotent. */
  close(): Promise<void>;
}

/** How one stream is written to one table. */
export interface PersistenceSpec<T, R> {
  keys: StreamKeys;
  group: string;
  schema: ZodType<T>;
  /**
   * The rows of one message (an entry may hold several, each with its own id); rows another consumer owns are left
   * out, so a message may give none.
   */
  toRows: (message: T) => R[];
  /** Idempotent multi-row insert (ON CONFLICT DO NOTHING on the row's id); returns rows new. */
  insert: (rows: readonly R[]) => Promise<number>;
  /** Entries per read. */
  defaultBatchSize: number;
  /** Most rows per INSERT; a batch holding more is written in several. Default 1,000. */
  maxRows?: number;
}

/**
 * Starts a consumer group writing a stream to Postgres in batches: one multi-row INSERT per batch (per `maxRows`
 * rows), idempotent on the row id, so redelivery writes nothing twice. While Postgres is unreachable the batch
 * waits (the loop pauses) instead of failing, so an outage dead-letters nothing and the backlog drains when it
 * returns. A batch Postgres refuses for another reason is split into its entries, so only the entries holding a bad
 * row are retried (whole: rows already written are skipped) and, after `maxAttempts`, dead-lettered.
 */
export async function startPersistence<T, R>(deps: PersistenceDeps, spec: PersistenceSpec<T, R>): Promise<Persistence> {
  const abort = new AbortController();
  const labels = [spec.keys.name, spec.group];
  const written = deps.registry.counter("persistence_rows_written_total", "Rows newly written", ["stream", "group"]);
  const paused = deps.registry.gauge("persistence_paused", "1 while writes wait for the database", ["stream", "group"]);
  paused.set(labels, 0);
  const log = deps.logger.child({ stream: spec.keys.name, group: spec.group });
  const outage = {
    probe: deps.probe,
    signal: abort.signal,
    logger: log,
    onPause: (p: boolean) => paused.set(labels, p ? 1 : 0),
  };

  const maxRows = spec.maxRows ?? 1_000;
  const write = async (rows: readonly R[]) => {
    for (let i = 0; i < rows.length; i += maxRows) {
      const part = rows.length <= maxRows ? rows : rows.slice(i, i + maxRows);
      written.inc(labels, await writeThroughOutage(() => spec.insert(part), outage));
    }
  };

  const handler = async (all: Message<T>[]) => {
    const batch: Message<T>[] = [];
    const rowsOf: R[][] = [];
    const rows: R[] = [];
    for (const m of all) {
      const own = spec.toRows(m.data);
      if (own.length === 0) continue;
      batch.push(m);
      rowsOf.push(own);
      for (const r of own) rows.push(r);
    }
    if (rows.length === 0) return;
    try {
      await write(rows);
      return;
    } catch (err) {
      if (isConnectionError(err)) throw err;
      log.warn("batch refused; writing entries one by one", { err, size: rows.length });
    }
    const failed: { message: Message<T>; error: unknown }[] = [];
    for (let i = 0; i < batch.length; i++) {
      try {
        await write(rowsOf[i] as R[]);
      } catch (error) {
        if (isConnectionError(error)) throw error;
        failed.push({ message: batch[i] as Message<T>, error });
      }
    }
    return { failed };
  };

  const consumer = new Consumer<T>({
    redis: deps.redis,
    keys: spec.keys,
    group: spec.group,
    schema: spec.schema,
    handler,
    batchSize: deps.batchSize ?? spec.defaultBatchSize,
    maxAttempts: deps.maxAttempts ?? 25,
    backoff: { delayMs: 500, maxDelayMs: 30_000 },
    registry: deps.registry,
    logger: deps.logger,
  });
  await consumer.start();
  let closing: Promise<void> | undefined;
  return {
    name: `${spec.keys.name}/${spec.group}`,
    isRunning: () => consumer.isRunning,
    close: () => {
      closing ??= (async () => {
        abort.abort();
        await consumer.close();
      })();
      return closing;
    },
  };
}
