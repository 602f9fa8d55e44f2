/**
 * The socket side of the filter end-to-end benchmark, in its own process: opens one authenticated socket per user
 * `u<FROM>..u<TO-1>` on the gateway at `URL`, 200 at a time, and prints `{"opened","failed"}` once every socket got
 * its `welcome`. Each `entity` frame is then recorded at arrival: user, entity id, `updated_at` and the arrival time
 * (epoch ms, taken first thing in the message handler). A line on stdin prints every record as one JSON line
 * (`{"records":[[user, id, updatedAt, arrivedAt], ...]}`) and exits. Env: SECRET, URL, FROM, TO.
 */
import { createJwt } from "@bump/auth";

const jwt = createJwt(process.env.SECRET ?? "");
const url = process.env.URL ?? "";
const from = Number(process.env.FROM ?? 0);
const to = Number(process.env.TO ?? 0);
const sockets: WebSocket[] = [];
const records: [string, string, number, number][] = [];
let opened = 0;
let failed = 0;

const open = async (i: number) => {
  const user = `u${i}`;
  const token = await jwt.sign(user);
  await new Promise<void>((resolve) => {
    const ws = new WebSocket(`${url}?token=${token}`);
    sockets.push(ws);
    let welcomed = false;
    ws.onmessage = (ev) => {
      const arrived = Date.now();
      const text = ev.data as string;
      if (!welcomed) {
        welcomed = true;
        opened++;
        resolve();
      }
      if (!text.startsWith('{"type":"entity",')) return;
      const f = JSON.parse(text) as { entity: { id: string; updated_at: string } };
      records.push([user, f.entity.id, Date.parse(f.entity.updated_at), arrived]);
    };
    ws.onclose = () => {
      if (welcomed) return;
      failed++;
      resolve();
    };
  });
};
for (let i = from; i < to; i += 200) {
  await Promise.all(Array.from({ length: Math.min(200, to - i) }, (_, k) => open(i + k)));
}
console.log(JSON.stringify({ opened, failed }));
for await (const _ of console) {
  console.log(JSON.stringify({ records }));
  process.exit(0);
}
