/** A TCP proxy a test can cut and restore, to take a real database away from a client and give it back. */
import { connect, createServer, type Server, type Socket } from "node:net";

/** A running proxy from `127.0.0.1:port` to a target. */
export interface TcpProxy {
  readonly port: number;
  /** Drops every connection and stops listening (new connections are refused), as a stopped database does. */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  restore(): Promise<void>;
  /** Same as {@link TcpProxy.cut}; for cleanup. */
  close(): Promise<void>;
}

/** Starts a proxy to `host:targetPort` on a free port of 127.0.0.1. */
export async function startTcpProxy(host: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const srv = createServer((client) => {
        const upstream = connect(targetPort, host);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on("close", () => sockets.delete(s));
          s.on("error", () => {
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream);
        upstream.pipe(client);
      });
      srv.once("error", reject);
      srv.listen(port, "127.0.0.1", () => {
        const addr = srv.address();
        if (typeof addr === "object" && addr) port = addr.port;
        server = srv;
        resolve();
      });
    });
  const cut = async () => {
    const srv = server;
    server = undefined;
    for (const s of sockets) s.destroy();
    sockets.clear();
    if (srv) await new Promise<void>((resolve) => srv.close(() => resolve()));
  };
  await listen();
  return { port, cut, restore: listen, close: cut };
}
