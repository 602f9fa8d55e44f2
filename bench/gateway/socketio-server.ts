/**
 * Peer: a Socket.IO server with `@socket.io/redis-streams-adapter`, each socket joined to a room named after its
 * user (`?user=` in the handshake). Frames emitted to a room by any server of the cluster reach its sockets.
 * Prints `{"port"}` once listening. Env: REDIS_URL, PORT (0: a free one).
 */
import { createServer } from "node:http";
import { createAdapter } from "@socket.io/redis-streams-adapter";
import { Redis } from "ioredis";
import { Server } from "socket.io";

const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
const http = createServer();
const io = new Server(http, { adapter: createAdapter(redis, { readCount: 1_000 }), transports: ["websocket"] });
io.on("connection", (socket) => {
  const user = socket.handshake.query.user;
  if (typeof user === "string") void socket.join(user);
});
http.listen(Number(process.env.PORT ?? 0), "127.0.0.1", () => {
  const addr = http.address();
  console.log(JSON.stringify({ port: typeof addr === "object" && addr ? addr.port : 0 }));
});
