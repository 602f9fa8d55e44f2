/** A pool of WebSocket clients in this process that counts frames and producer-to-socket latency. */
export interface ClientPool {
  readonly size: number;
  received: number;
  /** Latencies (ms) of frames carrying `"t":<epoch ms>` while `sampling` is on. */
  latencies: number[];
  sampling: boolean;
  close(): void;
}

/** How a pool's sockets speak: plain frames, or the Socket.IO (engine.io v4) wire protocol over a raw WebSocket. */
export type Wire = "plain" | "socketio";

/**
 * Opens `urls.length` sockets, `concurrency` at a time; resolves once all are open and ready: after the first frame
 * (`welcome: true`), after the Socket.IO namespace connect (`wire: "socketio"`), else on open. Every client is the
 * same raw WebSocket, so the designs compared pay the same client cost.
 */
export async function openPool(
  urls: string[],
  opts: { welcome?: boolean; concurrency?: number; wire?: Wire } = {},
): Promise<ClientPool> {
  const sockets: WebSocket[] = [];
  const sio = opts.wire === "socketio";
  const pool: ClientPool = {
    size: urls.length,
    received: 0,
    latencies: [],
    sampling: false,
    close: () => {
      for (const s of sockets) s.close();
    },
  };
  const at = /"t":(\d+)/;
  const open = (url: string) =>
    new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(url);
      sockets.push(ws);
      let ready = !opts.welcome && !sio;
      ws.onopen = () => {
        if (ready) resolve();
      };
      ws.onerror = () => reject(new Error(`socket error ${url}`));
      ws.onmessage = (e) => {
        const text = e.data as string;
        if (sio && !text.startsWith("42")) {
          if (text === "2") ws.send("3");
          else if (text.startsWith("0")) ws.send("40");
          else if (text.startsWith("40") && !ready) {
            ready = true;
            resolve();
          }
          return;
        }
        if (!ready) {
          ready = true;
          resolve();
          return;
        }
        pool.received++;
        if (pool.sampling) {
          const m = at.exec(text);
          if (m) pool.latencies.push(Date.now() - Number(m[1]));
        }
      };
    });
  const c = opts.concurrency ?? 500;
  for (let i = 0; i < urls.length; i += c) await Promise.all(urls.slice(i, i + c).map(open));
  return pool;
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
