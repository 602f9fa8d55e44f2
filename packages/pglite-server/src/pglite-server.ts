import { createServer, type Server, type Socket } from "node:net";
import type { PGlite } from "@electric-sql/pglite";

/** Options for {@link servePglite}. */
export interface PgliteServerOptions {
  /** TCP port; 0 picks a free one (read it back from {@link PgliteServer.port}). */
  port: number;
  /** Interface to bind. Default: `127.0.0.1`. */
  host?: string;
  /** Client connections served at once; one more is refused with SQLSTATE 53300. Default: 100. */
  maxConnections?: number;
}

/** A running wire-protocol server in front of one PGlite instance. */
export interface PgliteServer {
  /** The port it listens on. */
  readonly port: number;
  /** Open client connections. */
  connections(): number;
  /** Closes every client connection and stops listening. Leaves PGlite open. Idempotent. */
  stop(): Promise<void>;
}

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;
const SYNC = Uint8Array.of(0x53, 0, 0, 0, 4);
const ROLLBACK = (() => {
  const body = Buffer.from("ROLLBACK\0");
  const msg = Buffer.alloc(5 + body.length);
  msg.write("Q", 0);
  msg.writeInt32BE(4 + body.length, 1);
  body.copy(msg, 5);
  return new Uint8Array(msg);
})();

interface Conn {
  readonly socket: Socket;
  buf: Buffer;
  started: boolean;
  closed: boolean;
  /** Complete frontend messages not yet run, in arrival order. */
  readonly pending: Uint8Array[];
}

/** A FATAL ErrorResponse, for refusing a connection. */
function fatal(code: string, message: string): Buffer {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${message}\0\0`);
  const head = Buffer.alloc(5);
  head.write("E", 0);
  head.writeInt32BE(4 + fields.length, 1);
  return Buffer.concat([head, fields]);
}

/** Sends `last` and closes the socket, without waiting for the client to close its side. */
function hangUp(socket: Socket, last?: Buffer): void {
  socket.end(last ?? Buffer.alloc(0), () => socket.destroy());
}

/**
 * Serves `pg` over the Postgres wire protocol to many clients at once. PGlite has a single session, so the
 * server lends it to one client at a time: from that client's first message until the session is back to idle
 * (ReadyForQuery status `I`), i.e. for a whole extended-protocol batch (Parse/Bind/Execute/Sync) or a whole
 * transaction. Other clients' messages wait meanwhile, so a client idling inside a transaction stalls everyone.
 * Session state (SET, prepared statement names) is shared by all clients. A client that disconnects while
 * holding the session has its batch ended and its transaction rolled back.
 *
 * This replaces `PGLiteSocketServer`, whose per-message scheduling interleaves concurrent clients'
 * extended-protocol batches (electric-sql/pglite#1046).
 */
export function servePglite(pg: PGlite, opts: PgliteServerOptions): Promise<PgliteServer> {
  const maxConnections = opts.maxConnections ?? 100;
  const conns = new Set<Conn>();
  /** Connections with pending messages, waiting for the session, in order of arrival. */
  const waiting: Conn[] = [];
  /** The connection holding the session, if any. */
  let owner: Conn | undefined;
  let running = false;
  let stopped = false;

  const run = async (msg: Uint8Array, onData?: (bytes: Uint8Array) => void): Promise<number> => {
    // The last ReadyForQuery's status byte, or 0 when the output had none.
    let tail = new Uint8Array(0);
    await pg.runExclusive(() =>
      pg.execProtocolRawStream(msg, {
        onRawData: (bytes) => {
          onData?.(bytes);
          tail = bytes.length >= 6 ? bytes.slice(-6) : Uint8Array.from([...tail, ...bytes]).slice(-6);
        },
      }),
    );
    return tail.length === 6 && tail[0] === 0x5a && tail[4] === 5 ? (tail[5] ?? 0) : 0;
  };

  /** Ends whatever `conn` left open on the shared session. */
  const release = async (conn: Conn) => {
    if (owner !== conn) return;
    try {
      await run(SYNC);
      if (pg.isInTransaction()) await run(ROLLBACK);
    } catch (err) {
      console.error(JSON.stringify({ msg: "pglite cleanup failed", error: String(err) }));
    }
    owner = undefined;
  };

  const drain = async () => {
    if (running) return;
    running = true;
    try {
      while (!stopped) {
        let conn = owner;
        if (!conn) {
          conn = waiting.shift();
          if (!conn) break;
          if (conn.closed || conn.pending.length === 0) continue;
          owner = conn;
        }
        const msg = conn.pending.shift();
        if (!msg) break; // the owner has nothing queued yet: wait for it
        try {
          const status = await run(msg, (bytes) => {
            if (!conn.closed) conn.socket.write(Buffer.from(bytes));
          });
          if (status === 0x49 /* I */) {
            owner = undefined;
            if (conn.pending.length > 0) waiting.push(conn);
          }
        } catch (err) {
          console.error(JSON.stringify({ msg: "pglite message failed", error: String(err) }));
          conn.socket.destroy();
          conn.closed = true;
        }
        if (conn.closed) await release(conn);
      }
    } finally {
      running = false;
    }
  };

  const enqueue = (conn: Conn, msg: Uint8Array) => {
    conn.pending.push(msg);
    if (owner !== conn && conn.pending.length === 1) waiting.push(conn);
    void drain();
  };

  const onData = (conn: Conn, chunk: Buffer) => {
    conn.buf = conn.buf.length === 0 ? chunk : Buffer.concat([conn.buf, chunk]);
    while (!conn.closed) {
      if (!conn.started) {
        if (conn.buf.length < 8) return;
        const len = conn.buf.readInt32BE(0);
        const code = conn.buf.readInt32BE(4);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          conn.buf = conn.buf.subarray(8);
          conn.socket.write("N");
          continue;
        }
        if (code === CANCEL_REQUEST) {
          hangUp(conn.socket); // nothing to cancel: PGlite runs one message at a time
          return;
        }
        if (code !== PROTOCOL_3) {
          hangUp(conn.socket, fatal("08P01", "unsupported protocol"));
          return;
        }
        if (conn.buf.length < len) return;
        conn.started = true;
        enqueue(conn, new Uint8Array(conn.buf.subarray(0, len)));
        conn.buf = conn.buf.subarray(len);
        continue;
      }
      if (conn.buf.length < 5) return;
      const len = 1 + conn.buf.readInt32BE(1);
      if (conn.buf.length < len) return;
      const msg = new Uint8Array(conn.buf.subarray(0, len));
      conn.buf = conn.buf.subarray(len);
      if (msg[0] === 0x58 /* X: Terminate */) {
        hangUp(conn.socket);
        return;
      }
      enqueue(conn, msg);
    }
  };

  const onClose = (conn: Conn) => {
    if (!conns.delete(conn)) return;
    conn.closed = true;
    conn.pending.length = 0;
    if (owner === conn && !running && !stopped) void release(conn).then(drain);
  };

  const server: Server = createServer((socket) => {
    socket.setNoDelay(true);
    if (conns.size >= maxConnections) {
      hangUp(socket, fatal("53300", "sorry, too many clients already"));
      return;
    }
    const conn: Conn = { socket, buf: Buffer.alloc(0), started: false, closed: false, pending: [] };
    conns.add(conn);
    socket.on("data", (chunk) => onData(conn, typeof chunk === "string" ? Buffer.from(chunk) : chunk));
    socket.on("error", () => socket.destroy());
    socket.on("close", () => onClose(conn));
  });

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      const addr = server.address();
      const port = typeof addr === "object" && addr ? addr.port : opts.port;
      let stopping: Promise<void> | undefined;
      resolve({
        port,
        connections: () => conns.size,
        stop: () => {
          stopping ??= new Promise<void>((done) => {
            stopped = true;
            server.close(() => done());
            for (const c of conns) c.socket.destroy();
          });
          return stopping;
        },
      });
    });
  });
}
