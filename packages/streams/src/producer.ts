import type { ZodType } from "zod";
import { BusUnavailableError } from "./bus-unavailable-error.ts";
import { issuesOf } from "./codec.ts";
import type { RedisClient as Redis } from "./connection.ts";
import type { StreamKeys } from "./keys.ts";
import type { OverloadMonitor } from "./overload.ts";
import { OverloadedError } from "./overloaded-error.ts";
import { withScripts } from "./scripts.ts";
import { MessageValidationError } from "./validation-error.ts";

/** Options of {@link Producer}. */
export interface ProducerOptions<T> {
  redis: Redis;
  keys: StreamKeys;
  /** Every message is validated against it before it is written. */
  schema: ZodType<T>;
  /** Hard cap on the stream's length (XADD MAXLEN ~). Default 1,000,000. The overload limit should lie well below. */
  maxLen?: number;
  /** When given, writes are refused with {@link OverloadedError} while the stream's consumers lag past the limit. */
  overload?: OverloadMonitor;
  /** How long a client id is remembered for {@link Producer.addOnce}, seconds. Default 86,400. */
  dedupeWindowSeconds?: number;
}

/**
 * A typed producer for one stream. A resolved `add` means the entry is in Redis (and, with AOF
 * `appendfsync always`, on disk); a rejected one means nothing was acknowledged.
 */
export class Producer<T> {
  private readonly redis: ReturnType<typeof withScripts>;
  private readonly maxLen: number;
  private readonly window: number;

  constructor(private readonly opts: ProducerOptions<T>) {
    this.redis = withScripts(opts.redis);
    this.maxLen = opts.maxLen ?? 1_000_000;
    this.window = opts.dedupeWindowSeconds ?? 86_400;
  }

  /** Validates `message`; throws {@link MessageValidationError} with field-level issues. */
  validate(message: unknown): T {
    const r = this.opts.schema.safeParse(message);
    if (!r.success) throw new MessageValidationError(this.opts.keys.name, issuesOf(r.error));
    return r.data;
  }

  /** Throws {@link OverloadedError} while consumers lag past the limit. */
  assertAccepting(): void {
    if (this.opts.overload?.isOverloaded(this.opts.keys.stream)) throw new OverloadedError(this.opts.keys.name);
  }

  /** Validates and appends one message; resolves with its entry id. */
  async add(message: T): Promise<string> {
    const [id] = await this.addMany([message]);
    return id as string;
  }

  /** Validates every message first (all or nothing), then appends them in one pipeline, in order. */
  async addMany(messages: readonly T[]): Promise<string[]> {
    const payloads = messages.map((m) => JSON.stringify(this.validate(m)));
    return this.addRaw(payloads);
  }

  /**
   * Appends already validated, serialised payloads in one pipeline (a single payload as one XADD, without a
   * pipeline). `items`: how many items the payloads stand for together when an entry holds several (the overload
   * limit weighs the backlog by it). Default one per payload.
   */
  async addRaw(payloads: readonly string[], items?: number): Promise<string[]> {
    this.assertAccepting();
    if (items !== undefined) this.opts.overload?.noteItems(this.opts.keys.stream, payloads.length, items);
    if (payloads.length === 1) return [await this.addOne(payloads[0] as string)];
    const pipe = this.redis.pipeline();
    for (const p of payloads) pipe.xadd(this.opts.keys.stream, "MAXLEN", "~", this.maxLen, "*", "d", p);
    let results: [Error | null, unknown][] | null;
    try {
      results = await pipe.exec();
    } catch (cause) {
      throw new BusUnavailableError(this.opts.keys.name, { cause });
    }
    if (!results) throw new BusUnavailableError(this.opts.keys.name);
    return results.map(([err, id]) => {
      if (err) throw new BusUnavailableError(this.opts.keys.name, { cause: err });
      return id as string;
    });
  }

  /** One XADD of `payload`; resolves with its entry id, rejects with {@link BusUnavailableError}. */
  private async addOne(payload: string): Promise<string> {
    let id: string | null;
    try {
      id = await this.redis.xadd(this.opts.keys.stream, "MAXLEN", "~", this.maxLen, "*", "d", payload);
    } catch (cause) {
      throw new BusUnavailableError(this.opts.keys.name, { cause });
    }
    if (id === null) throw new BusUnavailableError(this.opts.keys.name);
    return id;
  }

  /**
   * Appends already validated, serialised payloads with ONE script call (EVALSHA of `appendJoined-1.lua`, the
   * payloads joined by newlines in one argument; `appendMany-1.lua`, one argument each, for a single payload or
   * when a payload holds a newline), in order, and resolves with their entry ids. `items` as for {@link addRaw}. Same contract as {@link addRaw}: resolves only after Redis
   * acknowledged every entry; rejects with {@link OverloadedError} (nothing written) while consumers lag, or
   * {@link BusUnavailableError} when Redis did not answer. The script is atomic: no other append interleaves.
   */
  async appendMany(payloads: readonly string[], items?: number): Promise<string[]> {
    this.assertAccepting();
    if (payloads.length === 0) return [];
    if (items !== undefined) this.opts.overload?.noteItems(this.opts.keys.stream, payloads.length, items);
    const { stream } = this.opts.keys;
    try {
      if (payloads.length > 1) {
        // one argument instead of one per payload: the client measures and writes one string, not hundreds
        try {
          const ids = await this.redis.appendJoined(stream, this.maxLen, payloads.length, payloads.join("\n"));
          return ids.split(" ");
        } catch (err) {
          // a payload holding a newline: the script wrote nothing; send them one argument each
          if (!String(err).includes("COUNT payloads")) throw err;
        }
      }
      return await this.redis.appendMany(stream, this.maxLen, ...payloads);
    } catch (cause) {
      throw new BusUnavailableError(this.opts.keys.name, { cause });
    }
  }

  /**
   * Appends `message` unless a message with the same `clientId` was appended within the dedupe window; either way
   * resolves with the entry id, so a retried request is idempotent.
   */
  async addOnce(clientId: string, message: T): Promise<{ id: string; created: boolean }> {
    return this.addOnceRaw(clientId, JSON.stringify(this.validate(message)));
  }

  /**
   * {@link addOnce} of an already validated, serialised payload (no second validation): appends it unless the
   * same `clientId` was appended within the dedupe window; either way resolves with the entry id.
   */
  async addOnceRaw(clientId: string, payload: string): Promise<{ id: string; created: boolean }> {
    this.assertAccepting();
    try {
      const [id, created] = await this.redis.addOnce(
        this.opts.keys.stream,
        this.opts.keys.dedupe(clientId),
        this.maxLen,
        payload,
        this.window,
      );
      return { id, created: created === 1 };
    } catch (cause) {
      throw new BusUnavailableError(this.opts.keys.name, { cause });
    }
  }
}
