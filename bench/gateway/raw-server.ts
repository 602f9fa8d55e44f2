/**
 * The limit: a bare Bun.serve WebSocket server with no Redis in the path, in two workloads.
 *
 * `POST /blast?frames=N&cork=0|1` writes N distinct frames to every open socket at once (per-socket `send`, or all N
 * of a socket in one `cork`) and answers when done: a burst, each socket's frames back to back.
 *
 * `POST /stream?ms=M&chunk=C&turn=T&cork=0|1` writes, for M ms, the gateway benchmark's own frame stream: chunks of
 * C users in rotation (socket i is user i), one distinct frame per user per chunk, T chunks per event-loop turn (as
 * many as the benchmark's producer loops keep in flight). With `cork`, each socket's frames of a turn go in one
 * `cork` (what the gateway can batch per write at best); else one `send` per frame. A turn waits while any socket
 * holds more than 64 KiB unsent (the gateway's high-water mark), so the rate is what the sockets take, not what
 * piles up in memory. Frames carry `{"offset":"r:<seq>"` first, like the gateway's, so the clients check their order
 * at the same cost. Answers `{"frames":n,"writes":n}` (socket writes: a frame alone or a corked batch) when the time
 * is up.
 */
const sockets: Bun.ServerWebSocket<undefined>[] = [];
const HIGH_WATER = 64 * 1024;

function blast(n: number, cork: boolean): void {
  let i = 0;
  for (const ws of sockets) {
    const user = `u${i++}`;
    const write = () => {
      for (let k = 0; k < n; k++)
        ws.send(`{"type":"job","offset":"e:${k}","job":{"id":"${user}-${k}"},"t":${Date.now()}}`);
    };
    if (cork) ws.cork(write);
    else write();
  }
}

async function stream(
  ms: number,
  chunk: number,
  turn: number,
  cork: boolean,
): Promise<{ frames: number; writes: number }> {
  const seq = new Uint32Array(sockets.length);
  const deadline = performance.now() + ms;
  let next = 0;
  let n = 0;
  let sent = 0;
  let writes = 0;
  // per socket, the frames of this turn (cork): indices into `pending`
  const pending: string[][] = sockets.map(() => []);
  const touched: number[] = [];
  // sockets whose last write was left (partly) buffered: the only ones that can be over the high-water mark
  const buffered = new Set<Bun.ServerWebSocket<undefined>>();
  const write = (ws: Bun.ServerWebSocket<undefined>, frame: string) => {
    if (ws.send(frame) < 0) buffered.add(ws);
  };
  while (performance.now() < deadline) {
    for (let c = 0; c < turn; c++) {
      n++;
      for (let k = 0; k < chunk; k++) {
        const i = next;
        next = (next + 1) % sockets.length;
        const s = (seq[i] as number) + 1;
        seq[i] = s;
        const frame = `{"offset":"r:${s}","type":"job","job":{"id":"j${n}"}}`;
        if (cork) {
          const list = pending[i] as string[];
          if (list.length === 0) touched.push(i);
          list.push(frame);
        } else {
          write(sockets[i] as Bun.ServerWebSocket<undefined>, frame);
          writes++;
        }
        sent++;
      }
    }
    if (cork) {
      for (const i of touched) {
        const list = pending[i] as string[];
        const ws = sockets[i] as Bun.ServerWebSocket<undefined>;
        if (list.length === 1) write(ws, list[0] as string);
        else
          ws.cork(() => {
            for (const f of list) write(ws, f);
          });
        list.length = 0;
      }
      writes += touched.length;
      touched.length = 0;
    }
    // let the loop write out; wait while a socket is over its high-water mark
    await new Promise((resolve) => setImmediate(resolve));
    for (const ws of buffered) {
      while (performance.now() < deadline && ws.readyState === 1 && ws.getBufferedAmount() > HIGH_WATER)
        await Bun.sleep(1);
      if (ws.readyState !== 1 || ws.getBufferedAmount() === 0) buffered.delete(ws);
    }
  }
  return { frames: sent, writes };
}

const server = Bun.serve({
  port: Number(process.env.PORT ?? 0),
  hostname: "127.0.0.1",
  async fetch(req, srv) {
    const url = new URL(req.url);
    const q = (name: string, dflt: number) => Number(url.searchParams.get(name) ?? dflt);
    const cork = url.searchParams.get("cork") === "1";
    if (url.pathname === "/ws") return srv.upgrade(req) ? undefined : new Response("upgrade", { status: 426 });
    if (url.pathname === "/blast") {
      blast(q("frames", 1), cork);
      return new Response("ok");
    }
    if (url.pathname === "/stream") {
      return Response.json(await stream(q("ms", 1_000), q("chunk", 1_000), q("turn", 16), cork));
    }
    return new Response("ok");
  },
  websocket: {
    open: (ws) => void sockets.push(ws),
    close: (ws) => {
      const i = sockets.indexOf(ws);
      if (i >= 0) sockets.splice(i, 1);
    },
    message() {},
  },
});
console.log(JSON.stringify({ port: server.port }));
