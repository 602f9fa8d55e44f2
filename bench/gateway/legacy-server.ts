/**
 * Peer: the old design. One ioredis subscriber per connected user (`SUBSCRIBE u:<user>`), every published message
 * written to the user's socket; no history, no backpressure. Prints `{"port"}` once listening. Env: REDIS_URL, PORT.
 */
import { Redis } from "ioredis";

const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const server = Bun.serve<{ user: string; sub: Redis | null }>({
  port: Number(process.env.PORT ?? 0),
  hostname: "127.0.0.1",
  fetch(req, srv) {
    const user = new URL(req.url).searchParams.get("user") ?? "";
    return srv.upgrade(req, { data: { user, sub: null } }) ? undefined : new Response("upgrade", { status: 426 });
  },
  websocket: {
    open(ws) {
      const sub = new Redis(url, { lazyConnect: false });
      ws.data.sub = sub;
      sub.on("message", (_channel: string, message: string) => ws.send(message));
      void sub.subscribe(`u:${ws.data.user}`).then(() => ws.send('{"type":"welcome"}'));
    },
    close(ws) {
      ws.data.sub?.disconnect();
    },
    message() {},
  },
});
console.log(JSON.stringify({ port: server.port }));
