import type { EntityFilter, LocationInput, ServerFrame, Viewport, WelcomeFrame } from "@bump/contracts";

/** Server frames by `type`. */
export type FrameOf<T extends ServerFrame["type"]> = Extract<ServerFrame, { type: T }>;

/** Events of a {@link BumpClient}: every server frame type, plus socket `open`/`close`. */
export type ClientEvents = { [T in ServerFrame["type"]]: FrameOf<T> } & {
  open: { attempt: number };
  close: { code: number; reason: string; willReconnect: boolean };
};

/** Options of {@link BumpClient}. */
export interface BumpClientOptions {
  /** Gateway URL, e.g. `ws://127.0.0.1:3001/ws`, or a function choosing one for each connection. */
  url: string | (() => string);
  /** A bearer token, or a function giving a fresh one for each connection. */
  token: string | (() => string | Promise<string>);
  /** Send the token in the first frame instead of the URL. Default false. */
  authFrame?: boolean;
  /** Offset to resume from on the first connection. Default none (live only). */
  since?: string;
  /** Reconnect after a close other than 4001/4003/4400 or `close()`. Default true. */
  reconnect?: boolean;
  /** First reconnect delay, ms (doubles per attempt, full jitter). Default 250. */
  minDelayMs?: number;
  /** Longest reconnect delay, ms. Default 10,000. */
  maxDelayMs?: number;
  /** WebSocket constructor. Default the global `WebSocket` (browsers, Bun). */
  WebSocket?: typeof WebSocket;
}

type Handler<T> = (event: T) => void;

/** Close codes after which reconnecting cannot help. */
const FINAL_CLOSES = new Set([4001, 4003, 4400]);

/**
 * A typed client of the gateway for browsers and Bun. Reconnects with exponential backoff and full jitter and
 * resumes from the last offset it saw, so reliable frames (`bump`, `job`, `message`) arrive once and in order across
 * reconnects while they are within the server's history window; otherwise it emits `resync`.
 */
export class BumpClient {
  private ws: WebSocket | undefined;
  private readonly handlers = new Map<string, Set<Handler<unknown>>>();
  private offset: string | null;
  private attempt = 0;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private lastSeen = 0;
  private welcomed: Promise<WelcomeFrame> | undefined;

  constructor(private readonly opts: BumpClientOptions) {
    this.offset = opts.since ?? null;
  }

  /** The offset of the last reliable frame received (what a reconnect resumes from). */
  get lastOffset(): string | null {
    return this.offset;
  }

  /** True while a socket is open. */
  get isOpen(): boolean {
    return this.ws?.readyState === 1;
  }

  /** Connects; resolves with the first `welcome`, rejects if the first socket closes before it. */
  connect(): Promise<WelcomeFrame> {
    this.stopped = false;
    this.welcomed ??= new Promise((resolve, reject) => {
      const offW = this.on("welcome", (w) => {
        offW();
        offC();
        resolve(w);
      });
      const offC = this.on("close", (c) => {
        if (c.willReconnect) return;
        offW();
        offC();
        reject(new Error(`closed before welcome: ${c.code} ${c.reason}`));
      });
      void this.open();
    });
    return this.welcomed;
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof ClientEvents>(event: K, handler: Handler<ClientEvents[K]>): () => void {
    let set = this.handlers.get(event);
    if (!set) {
      set = new Set();
      this.handlers.set(event, set);
    }
    set.add(handler as Handler<unknown>);
    return () => set.delete(handler as Handler<unknown>);
  }

  /** Sends a location; with `id` (a UUID) the server answers `ack` with it. False when not connected. */
  sendLocation(location: LocationInput): boolean {
    return this.send({ type: "location", ...location });
  }

  /** Replaces the viewport; entity updates inside it follow. */
  setViewport(viewport: Viewport): boolean {
    return this.send({ type: "viewport", ...viewport });
  }

  /** Replaces the entity filter; `{}` clears it. */
  setFilter(filter: EntityFilter): boolean {
    return this.send({ type: "filter", ...filter });
  }

  /** Sends `ping`; the server answers `pong` with the same id. */
  ping(id?: string): boolean {
    return this.send(id === undefined ? { type: "ping" } : { type: "ping", id });
  }

  /** Sends a raw frame (text or object). False when not connected. */
  send(frame: object | string): boolean {
    if (this.ws?.readyState !== 1) return false;
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
    return true;
  }

  /** Closes the socket and stops reconnecting. */
  close(code = 1000, reason = "client closed"): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.heartbeat);
    this.ws?.close(code, reason);
  }

  /** Drops the socket without a close handshake, as a lost network would (then reconnects). */
  drop(): void {
    this.ws?.close(4999, "dropped");
  }

  private emit<K extends keyof ClientEvents>(event: K, value: ClientEvents[K]): void {
    for (const h of this.handlers.get(event) ?? []) h(value);
  }

  private async open(): Promise<void> {
    const token = typeof this.opts.token === "string" ? this.opts.token : await this.opts.token();
    if (this.stopped) return;
    const url = new URL(typeof this.opts.url === "string" ? this.opts.url : this.opts.url());
    if (!this.opts.authFrame) url.searchParams.set("token", token);
    if (this.offset) url.searchParams.set("since", this.offset);
    const Ctor = this.opts.WebSocket ?? WebSocket;
    const ws = new Ctor(url.toString());
    this.ws = ws;
    // Only the current socket speaks: a replaced socket's late events must not move the offset or emit frames.
    ws.onopen = () => {
      if (this.ws !== ws) return;
      if (this.opts.authFrame) ws.send(JSON.stringify({ type: "auth", token }));
      this.emit("open", { attempt: this.attempt });
    };
    ws.onmessage = (ev) => {
      if (this.ws === ws) this.received(String(ev.data));
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      clearInterval(this.heartbeat);
      const again = !this.stopped && this.opts.reconnect !== false && !FINAL_CLOSES.has(ev.code);
      this.emit("close", { code: ev.code, reason: ev.reason, willReconnect: again });
      if (again) this.schedule();
    };
  }

  private schedule(): void {
    const min = this.opts.minDelayMs ?? 250;
    const max = this.opts.maxDelayMs ?? 10_000;
    const delay = Math.random() * Math.min(max, min * 2 ** this.attempt++);
    this.timer = setTimeout(() => void this.open(), delay);
  }

  private received(text: string): void {
    this.lastSeen = Date.now();
    let frame: ServerFrame;
    try {
      frame = JSON.parse(text) as ServerFrame;
    } catch {
      return;
    }
    if ("offset" in frame && typeof frame.offset === "string") this.advance(frame.offset);
    if (frame.type === "resync") this.offset = null;
    if (frame.type === "welcome") {
      this.attempt = 0;
      this.startHeartbeat(frame.heartbeat_ms);
    }
    this.emit(frame.type, frame as never);
  }

  /** Moves the resume offset to `offset`, never back within one epoch. */
  private advance(offset: string): void {
    const cur = this.offset;
    const a = offset.lastIndexOf(":");
    const b = cur === null ? -1 : cur.lastIndexOf(":");
    if (cur !== null && a > 0 && a === b && offset.startsWith(cur.slice(0, b + 1))) {
      if (Number(offset.slice(a + 1)) <= Number(cur.slice(b + 1))) return;
    }
    this.offset = offset;
  }

  private startHeartbeat(ms: number): void {
    clearInterval(this.heartbeat);
    this.lastSeen = Date.now();
    this.heartbeat = setInterval(() => {
      if (Date.now() - this.lastSeen > ms * 2) this.drop();
      else this.ping();
    }, ms);
  }
}
