import { WireSocket } from "./wire.ts";

/** A pool of WebSocket clients in this process that counts frames and producer-to-socket latency. */
export interface ClientPool {
  readonly size: number;
  received: number;
  /**
   * Frames carrying an offset (`{"offset":"<epoch>:<seq>",...`) that were not the next one their socket expected in
   * that epoch (a gap, a duplicate or a reordering). Each socket's first offset sets where it starts.
   */
  disordered: number;
  /** Latencies (ms) of frames carrying `"t":<epoch ms>` while `sampling` is on. */
  latencies: number[];
  sampling: boolean;
  close(): void;
}

/** How a pool's sockets speak: plain frames, or the Socket.IO (engine.io v4) wire protocol over a raw WebSocket. */
export type Wire = "plain" | "socketio";

/** Per-socket state of a pool's client. */
interface Client {
  ready: boolean;
  /** Epoch of the last offset seen (bytes), and its sequence. */
  epoch: Uint8Array | null;
  last: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** `{"offset":"` */
const OFFSET = new TextEncoder().encode('{"offset":"');
const decoder = new TextDecoder();

/**
 * Opens `urls.length` sockets, `concurrency` at a time; resolves once all are open and ready: after the first frame
 * (`welcome: true`), after the Socket.IO namespace connect (`wire: "socketio"`), else on open. Every client is the
 * same raw WebSocket client (one parse per read of its TCP socket, frames counted and their offsets checked in
 * place), so the designs compared pay the same client cost.
 */
export async function openPool(
  urls: string[],
  opts: { welcome?: boolean; concurrency?: number; wire?: Wire } = {},
): Promise<ClientPool> {
  const sockets: WireSocket[] = [];
  const sio = opts.wire === "socketio";
  const pool: ClientPool = {
    size: urls.length,
    received: 0,
    disordered: 0,
    latencies: [],
    sampling: false,
    close: () => {
      for (const s of sockets) s.close();
    },
  };
  const at = /"t":(\d+)/;
  const handlers = {
    open(ws: WireSocket) {
      const c = ws.state as Client;
      if (!opts.welcome && !sio) {
        c.ready = true;
        c.resolve();
      }
    },
    closed(ws: WireSocket, reason: string) {
      const c = ws.state as Client;
      if (!c.ready) c.reject(new Error(`socket closed before ready: ${reason}`));
    },
    text(ws: WireSocket, b: Uint8Array, from: number, to: number) {
      const c = ws.state as Client;
      if (sio) {
        // engine.io: "42[...]" is an event; "2" a ping; "0{...}" the open packet; "40{...}" the namespace connect.
        if (b[from] !== 52 || b[from + 1] !== 50) {
          if (to - from === 1 && b[from] === 50) ws.send("3");
          else if (b[from] === 48) ws.send("40");
          else if (b[from] === 52 && b[from + 1] === 48 && !c.ready) {
            c.ready = true;
            c.resolve();
          }
          return;
        }
      } else if (!c.ready) {
        c.ready = true;
        c.resolve();
        return;
      }
      pool.received++;
      if (to - from > OFFSET.length && b[from + 2] === 111 && startsWith(b, from, OFFSET))
        check(c, b, from + OFFSET.length, to);
      if (pool.sampling) {
        const m = at.exec(decoder.decode(b.subarray(from, to)));
        if (m) pool.latencies.push(Date.now() - Number(m[1]));
      }
    },
  };
  const check = (c: Client, b: Uint8Array, from: number, to: number) => {
    let colon = from;
    while (colon < to && b[colon] !== 58) colon++;
    let seq = 0;
    let i = colon + 1;
    for (; i < to && b[i] !== 34; i++) seq = seq * 10 + ((b[i] as number) - 48);
    const same = c.epoch !== null && c.epoch.length === colon - from && startsWith(b, from, c.epoch);
    if (same && seq !== c.last + 1) pool.disordered++;
    if (!same) c.epoch = b.slice(from, colon);
    c.last = seq;
  };
  const open = (url: string) =>
    new Promise<void>((resolve, reject) => {
      const c: Client = { ready: false, epoch: null, last: 0, resolve, reject };
      WireSocket.connect(url, handlers, c).then((ws) => void sockets.push(ws), reject);
    });
  const c = opts.concurrency ?? 500;
  for (let i = 0; i < urls.length; i += c) await Promise.all(urls.slice(i, i + c).map(open));
  return pool;
}

/** Whether `b` holds `prefix` at `from`. */
function startsWith(b: Uint8Array, from: number, prefix: Uint8Array): boolean {
  for (let i = 0; i < prefix.length; i++) if (b[from + i] !== prefix[i]) return false;
  return true;
}

/** The q-quantile of `xs` (sorted copy). */
export function quantile(xs: number[], q: number): number {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
}

/** Resident set size of process `pid`, KiB. */
export async function rssKiB(pid: number): Promise<number> {
  const status = await Bun.file(`/proc/${pid}/status`).text();
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}
