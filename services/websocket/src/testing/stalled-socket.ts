import { connect, type Socket } from "node:net";

/**
 * A WebSocket client that completes the upgrade and then stops reading, as a stalled phone would: the kernel
 * buffers fill and the server's sends back up. `resume()` reads everything that was sent and returns the close
 * code the server sent, if any.
 */
export interface StalledSocket {
  resume(): Promise<number | null>;
  destroy(): void;
}

/** Opens a stalled socket to `ws://127.0.0.1:<port>/ws?token=<token>`. */
export function stalledSocket(port: number, token: string): Promise<StalledSocket> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock: Socket = connect(port, "127.0.0.1", () => {
      const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
      sock.write(
        `GET /ws?token=${token} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    sock.on("error", reject);
    const onData = (c: Buffer) => {
      chunks.push(c);
      if (!Buffer.concat(chunks).includes("\r\n\r\n")) return;
      sock.pause();
      sock.off("data", onData);
      resolve({
        resume: () =>
          new Promise((done) => {
            sock.on("data", (d: Buffer) => chunks.push(d));
            sock.on("close", () => done(closeCode(Buffer.concat(chunks))));
            sock.resume();
          }),
        destroy: () => sock.destroy(),
      });
    };
    sock.on("data", onData);
  });
}

/** The code of the first close frame in a raw server byte stream (after the HTTP response). */
function closeCode(all: Buffer): number | null {
  let i = all.indexOf("\r\n\r\n") + 4;
  while (i + 2 <= all.length) {
    const opcode = (all[i] as number) & 0x0f;
    let len = (all[i + 1] as number) & 0x7f;
    let at = i + 2;
    if (len === 126) {
      len = all.readUInt16BE(at);
      at += 2;
    } else if (len === 127) {
      len = Number(all.readBigUInt64BE(at));
      at += 8;
    }
    if (opcode === 8) return len >= 2 ? all.readUInt16BE(at) : null;
    i = at + len;
  }
  return null;
}
