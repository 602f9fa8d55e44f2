/**
 * A minimal WebSocket client over a raw TCP socket for the benchmark pools: the HTTP upgrade, unmasked server
 * frames parsed in place (many frames of one read in one pass, no event object per frame), pings answered, and
 * client frames sent with a zero mask. Text payloads are handed over as bytes; decoding them is the caller's choice.
 */
import type { Socket } from "bun";

/** What a {@link WireSocket} tells its owner. */
export interface WireHandlers {
  /** The upgrade succeeded. */
  open(ws: WireSocket): void;
  /** One complete text frame: `bytes[from..to)` (valid until the handler returns). */
  text(ws: WireSocket, bytes: Uint8Array, from: number, to: number): void;
  /** The socket closed or failed; `reason` says why. */
  closed(ws: WireSocket, reason: string): void;
}

const encoder = new TextEncoder();

/** One client connection. */
export class WireSocket {
  private pending: Uint8Array | null = null;
  private upgraded = false;
  private done = false;
  private socket: Socket<WireSocket> | undefined;

  private constructor(
    private readonly h: WireHandlers,
    /** The owner's per-socket state. */
    readonly state: unknown,
  ) {}

  /** Connects to `url` (`ws://host:port/path?query`) and upgrades; `state` is the owner's, kept on the socket. */
  static async connect(url: string, h: WireHandlers, state: unknown): Promise<WireSocket> {
    const u = new URL(url);
    const ws = new WireSocket(h, state);
    const request =
      `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    ws.socket = await Bun.connect<WireSocket>({
      hostname: u.hostname,
      port: Number(u.port),
      data: ws,
      socket: {
        open: (s) => void s.write(request),
        data: (s, chunk) => s.data.read(chunk),
        close: (s) => s.data.end("closed"),
        error: (s, err) => s.data.end(String(err)),
      },
    });
    return ws;
  }

  /** Sends one text frame (masked with a zero key, as the protocol allows). */
  send(text: string): void {
    const payload = encoder.encode(text);
    const n = payload.length;
    const head = n < 126 ? 6 : 8;
    const frame = new Uint8Array(head + n);
    frame[0] = 0x81;
    if (n < 126) frame[1] = 0x80 | n;
    else {
      frame[1] = 0x80 | 126;
      frame[2] = n >> 8;
      frame[3] = n & 0xff;
    }
    frame.set(payload, head);
    this.socket?.write(frame);
  }

  /** Closes the connection. */
  close(): void {
    this.socket?.end();
  }

  private end(reason: string): void {
    if (this.done) return;
    this.done = true;
    this.h.closed(this, reason);
  }

  private read(chunk: Uint8Array): void {
    let buf = chunk;
    if (this.pending) {
      buf = new Uint8Array(this.pending.length + chunk.length);
      buf.set(this.pending);
      buf.set(chunk, this.pending.length);
      this.pending = null;
    }
    let at = 0;
    if (!this.upgraded) {
      const end = indexOfHeaderEnd(buf);
      if (end < 0) {
        this.pending = buf.slice();
        return;
      }
      // "HTTP/1.1 101": byte 9 is the status code's first digit.
      if (buf[9] !== 49 || buf[10] !== 48 || buf[11] !== 49) {
        this.end(`upgrade refused: ${new TextDecoder().decode(buf.subarray(0, Math.min(end, 64)))}`);
        this.socket?.end();
        return;
      }
      this.upgraded = true;
      at = end;
      this.h.open(this);
    }
    while (at + 2 <= buf.length) {
      const op = (buf[at] as number) & 0x0f;
      let len = (buf[at + 1] as number) & 0x7f;
      let start = at + 2;
      if (len === 126) {
        if (at + 4 > buf.length) break;
        len = ((buf[at + 2] as number) << 8) | (buf[at + 3] as number);
        start = at + 4;
      } else if (len === 127) {
        if (at + 10 > buf.length) break;
        len = (buf[at + 6] as number) * 2 ** 24 + (((buf[at + 7] as number) << 16) | ((buf[at + 8] as number) << 8));
        len += buf[at + 9] as number;
        start = at + 10;
      }
      if (start + len > buf.length) break;
      if (op === 1) this.h.text(this, buf, start, start + len);
      else if (op === 9) this.control(0x8a, buf.subarray(start, start + len));
      else if (op === 8) {
        this.socket?.end();
        this.end("close frame");
        return;
      }
      at = start + len;
    }
    if (at < buf.length) this.pending = buf.slice(at);
  }

  private control(first: number, payload: Uint8Array): void {
    const frame = new Uint8Array(6 + payload.length);
    frame[0] = first;
    frame[1] = 0x80 | payload.length;
    frame.set(payload, 6);
    this.socket?.write(frame);
  }
}

/** The index just after the first `\r\n\r\n` in `buf`, or -1. */
function indexOfHeaderEnd(buf: Uint8Array): number {
  for (let i = 3; i < buf.length; i++) {
    if (buf[i] === 10 && buf[i - 1] === 13 && buf[i - 2] === 10 && buf[i - 3] === 13) return i + 1;
  }
  return -1;
}
