import type { Jwt } from "@bump/auth";
import { type ClientFrame, closeCode, parseClientFrame } from "@bump/contracts";
import type { Logger } from "@bump/service";
import type { Server, ServerWebSocket } from "bun";
import type { Hono } from "hono";
import type { Dispatcher } from "./dispatcher.ts";
import { handleFrame, type InboundSinks, publishViewport } from "./inbound.ts";
import type { GatewayMetrics } from "./metrics.ts";
import { Outbox, type OutboxLimits } from "./outbox.ts";
import type { Session } from "./session.ts";
import { TokenBucket } from "./token-bucket.ts";

/** Limits and timings of a {@link Gateway}. */
export interface GatewayLimits extends OutboxLimits {
  maxConnectionsPerUser: number;
  ratePerS: number;
  rateBurst: number;
  rateStrikes: number;
  heartbeatMs: number;
  idleTimeoutS: number;
  authTimeoutMs: number;
}

/** Options of {@link Gateway}. */
export interface GatewayOptions {
  jwt: Jwt;
  dispatcher: Dispatcher;
  sinks: InboundSinks;
  limits: GatewayLimits;
  metrics: GatewayMetrics;
  log: Logger;
  /** Serves every path other than `/ws` (health, readiness, metrics). */
  ops: Hono;
}

interface SocketData {
  token: string | null;
  since: string | null;
  session: Session | null;
  authenticating: boolean;
  early: string[];
  timer: ReturnType<typeof setTimeout> | undefined;
}

type Socket = ServerWebSocket<SocketData>;

/** Largest inbound frame, bytes; a larger one closes the socket with 1009. */
export const MAX_INBOUND_BYTES = 64 * 1024;

const decoder = new TextDecoder();

/**
 * The WebSocket edge: authenticates sockets (URL token or first `auth` frame), validates inbound frames, publishes
 * locations and viewports, and writes what the {@link Dispatcher} routes through each socket's {@link Outbox}.
 */
export class Gateway {
  private server: Server<SocketData> | undefined;
  private readonly sockets = new Set<Socket>();
  private stopping = false;

  constructor(private readonly o: GatewayOptions) {}

  /** Listens on `port` (0: a free one); resolves the bound port. */
  listen(port: number, hostname = "0.0.0.0"): number {
    const o = this.o;
    this.server = Bun.serve<SocketData>({
      port,
      hostname,
      fetch: (req, server) => {
        const url = new URL(req.url);
        if (url.pathname !== "/ws") return o.ops.fetch(req);
        if (this.stopping) return new Response("restarting", { status: 503 });
        const data: SocketData = {
          token: url.searchParams.get("token"),
          since: url.searchParams.get("since"),
          session: null,
          authenticating: false,
          early: [],
          timer: undefined,
        };
        if (server.upgrade(req, { data })) return undefined;
        return new Response("expected a WebSocket upgrade", { status: 426 });
      },
      websocket: {
        maxPayloadLength: MAX_INBOUND_BYTES,
        idleTimeout: o.limits.idleTimeoutS,
        sendPings: true,
        backpressureLimit: 0,
        open: (ws) => this.opened(ws),
        message: (ws, msg) => this.received(ws, typeof msg === "string" ? msg : decoder.decode(msg)),
        drain: (ws) => ws.data.session?.outbox.drain(),
        close: (ws, code) => this.closed(ws, code),
      },
    });
    return this.server.port ?? port;
  }

  /** Number of open sockets (authenticated or not). */
  get socketCount(): number {
    return this.sockets.size;
  }

  /**
   * Graceful stop: refuses new sockets, gives outboxes up to `drainMs` to flush, then closes every socket with
   * 1012 (clients reconnect elsewhere and resume).
   */
  async stop(drainMs = 2_000): Promise<void> {
    this.stopping = true;
    this.server?.stop(false);
    const deadline = Date.now() + drainMs;
    const busy = () =>
      [...this.sockets].some((ws) => (ws.data.session?.outbox.waitingBytes ?? 0) > 0 || ws.getBufferedAmount() > 0);
    while (busy() && Date.now() < deadline) await Bun.sleep(20);
    for (const ws of this.sockets) ws.close(closeCode.restart, "server restart");
    await Bun.sleep(50);
    this.server?.stop(true);
  }

  private opened(ws: Socket): void {
    this.sockets.add(ws);
    if (ws.data.token !== null) {
      void this.authenticate(ws, ws.data.token);
      return;
    }
    ws.data.timer = setTimeout(
      () => this.close(ws, closeCode.unauthorized, "no auth frame"),
      this.o.limits.authTimeoutMs,
    );
  }

  private close(ws: Socket, code: number, reason: string): void {
    this.o.metrics.closes.inc([String(code)]);
    ws.close(code, reason);
  }

  private async authenticate(ws: Socket, token: string): Promise<void> {
    const o = this.o;
    clearTimeout(ws.data.timer);
    ws.data.authenticating = true;
    let user: string;
    try {
      user = (await o.jwt.verify(token)).userId;
    } catch {
      this.close(ws, closeCode.unauthorized, "invalid token");
      return;
    }
    if (ws.readyState !== 1) return;
    if (o.dispatcher.count(user) >= o.limits.maxConnectionsPerUser) {
      this.close(ws, closeCode.rateLimited, "too many connections");
      return;
    }
    const s: Session = {
      id: crypto.randomUUID(),
      user,
      outbox: new Outbox(ws, o.limits, o.metrics),
      bucket: new TokenBucket(o.limits.ratePerS, o.limits.rateBurst),
      strikes: 0,
      epoch: null,
      last: 0,
      filling: false,
      hint: 0,
      suspect: null,
      closed: false,
      viewport: null,
      filter: undefined,
    };
    ws.data.session = s;
    o.metrics.sockets.inc();
    const since = ws.data.since;
    try {
      await o.dispatcher.open(s, since, (resumed) => {
        s.outbox.reliable(
          JSON.stringify({
            type: "welcome",
            session_id: s.id,
            user_id: user,
            heartbeat_ms: o.limits.heartbeatMs,
            resumed,
          }),
        );
      });
    } catch (err) {
      o.log.warn("session start failed", { err, user_id: user });
      if (!s.closed) this.close(ws, closeCode.restart, "try again");
      return;
    }
    ws.data.authenticating = false;
    for (const text of ws.data.early.splice(0)) this.received(ws, text);
  }

  private received(ws: Socket, text: string): void {
    const o = this.o;
    const s = ws.data.session;
    if (ws.data.authenticating) {
      if (ws.data.early.length >= this.o.limits.rateBurst) this.close(ws, closeCode.rateLimited, "rate limited");
      else ws.data.early.push(text);
      return;
    }
    if (!s) {
      const r = parseClientFrame(text);
      if (r.ok && r.frame.type === "auth") void this.authenticate(ws, r.frame.token);
      else this.close(ws, closeCode.protocolError, "authenticate first");
      return;
    }
    if (!s.bucket.take()) {
      o.metrics.inboundErrors.inc(["rate_limited"]);
      if (++s.strikes >= o.limits.rateStrikes) {
        this.close(ws, closeCode.rateLimited, "rate limited");
        return;
      }
      s.outbox.reliable(JSON.stringify({ type: "error", code: "rate_limited", message: "too many frames" }));
      return;
    }
    s.strikes = 0;
    const r = parseClientFrame(text);
    if (!r.ok) {
      o.metrics.inboundErrors.inc([r.code]);
      s.outbox.reliable(
        JSON.stringify({ type: "error", code: r.code, message: r.message, ...(r.ref ? { ref: r.ref } : {}) }),
      );
      return;
    }
    o.metrics.inbound.inc([r.frame.type]);
    this.handle(s, r.frame);
  }

  private handle(s: Session, frame: ClientFrame): void {
    if (frame.type === "auth") {
      s.outbox.reliable(JSON.stringify({ type: "error", code: "invalid_frame", message: "already authenticated" }));
    } else if (frame.type === "resume") {
      this.o.dispatcher.resume(s, frame.since).catch((err) => {
        this.o.log.warn("resume failed", { err, user_id: s.user });
        s.outbox.reliable(JSON.stringify({ type: "error", code: "internal", message: "resume failed; retry" }));
      });
    } else {
      void handleFrame(s, frame, this.o.sinks);
    }
  }

  private closed(ws: Socket, code: number): void {
    this.sockets.delete(ws);
    clearTimeout(ws.data.timer);
    const s = ws.data.session;
    if (!s) return;
    s.outbox.discard();
    this.o.dispatcher.detach(s);
    this.o.metrics.sockets.inc([], -1);
    if (s.viewport !== null || s.filter !== undefined) void publishViewport(s, this.o.sinks);
    this.o.log.debug("socket closed", { user_id: s.user, session_id: s.id, code });
  }
}
