/**
 * The limit: a bare Bun.serve WebSocket server with no Redis in the path. `POST /blast?frames=N&cork=0|1` writes
 * N distinct frames to every open socket (per-socket `send`, or batched inside `cork`) and answers when done.
 */
const sockets = new Set<Bun.ServerWebSocket<undefined>>();
const server = Bun.serve({
  port: Number(process.env.PORT ?? 0),
  hostname: "127.0.0.1",
  fetch(req, srv) {
    const url = new URL(req.url);
    if (url.pathname === "/ws") return srv.upgrade(req) ? undefined : new Response("upgrade", { status: 426 });
    if (url.pathname === "/blast") {
      const n = Number(url.searchParams.get("frames") ?? 1);
      const cork = url.searchParams.get("cork") === "1";
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
      return new Response("ok");
    }
    return new Response("ok");
  },
  websocket: { open: (ws) => void sockets.add(ws), close: (ws) => void sockets.delete(ws), message() {} },
});
console.log(JSON.stringify({ port: server.port }));
