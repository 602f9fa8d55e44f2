/**
 * One client process of the connections benchmark: opens sockets for users `FROM..TO-1` spread over the gateway
 * URLs in `URLS` (comma separated), 200 at a time, waits for each `welcome`, prints `{"opened","failed","codes"}` (close codes of failures) and
 * keeps the sockets open until killed. Env: SECRET, URLS, FROM, TO.
 */
import { createJwt } from "@bump/auth";

const jwt = createJwt(process.env.SECRET ?? "");
const urls = (process.env.URLS ?? "").split(",");
const from = Number(process.env.FROM ?? 0);
const to = Number(process.env.TO ?? 0);
const sockets: WebSocket[] = [];
let opened = 0;
let failed = 0;
const codes: Record<string, number> = {};
const open = async (i: number) => {
  const token = await jwt.sign(`c${i}`);
  await new Promise<void>((resolve) => {
    const ws = new WebSocket(`${urls[i % urls.length]}?token=${token}`);
    sockets.push(ws);
    ws.onmessage = () => {
      opened++;
      ws.onmessage = null;
      resolve();
    };
    ws.onclose = (e) => {
      codes[e.code] = (codes[e.code] ?? 0) + 1;
      failed++;
      resolve();
    };
  });
};
for (let i = from; i < to; i += 200) {
  await Promise.all(Array.from({ length: Math.min(200, to - i) }, (_, k) => open(i + k)));
}
console.log(JSON.stringify({ opened, failed, codes }));
setInterval(() => {}, 60_000);
