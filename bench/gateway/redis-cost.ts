/**
 * Redis instructions per reliable frame of the gateway benchmark's producer path, counted by callgrind: a
 * redis-server under `valgrind --tool=callgrind` (BENCH_CALLGRIND=0: plain, CPU time only), USERS users present on
 * one gateway, each with a history already; FLUSHES flushes of 16 `deliver` calls of 1k users each (as
 * bench/gateway/main.ts sends them), each followed by the gateway's XREAD of its stream. Counts from a zeroed
 * callgrind after warm-up; also the producer's CPU per frame in this process. `bun bench/gateway/redis-cost.ts`.
 */
import { Delivery, deliveryKeys, RedisPresence } from "@bump/delivery";
import { createRedis } from "@bump/streams";
import { freePort, waitFor } from "@bump/testing";

const USERS = Number(process.env.BENCH_USERS ?? 10_000);
const FLUSHES = Number(process.env.BENCH_FLUSHES ?? 10);
const CALLGRIND = process.env.BENCH_CALLGRIND !== "0";
const port = await freePort();
const out = `/tmp/redis-cost-${port}.cg`;
const args = [
  "redis-server",
  "--port",
  String(port),
  "--bind",
  "127.0.0.1",
  "--save",
  "",
  "--appendonly",
  "no",
  "--stream-node-max-bytes",
  "1024",
];
const proc = Bun.spawn(CALLGRIND ? ["valgrind", "--tool=callgrind", `--callgrind-out-file=${out}`, ...args] : args, {
  stdout: "ignore",
  stderr: "ignore",
});
const redis = createRedis(`redis://127.0.0.1:${port}`);
try {
  await waitFor(
    () =>
      redis.ping().then(
        () => true,
        () => false,
      ),
    { timeoutMs: 60_000, what: "redis-server" },
  );
  const keys = deliveryKeys("cost");
  // Registrations outlive the run: a redis-server under callgrind runs it about 50 times slower.
  const presence = new RedisPresence({ redis, keys, ttlMs: 3_600_000 });
  const delivery = new Delivery({ redis, keys, presence });
  const users = Array.from({ length: USERS }, (_, i) => `u${i}`);
  await presence.register("gw", users);
  for (let i = 0; i < USERS; i += 1_000) {
    await delivery.deliver(users.slice(i, i + 1_000), { type: "job", job: { id: "warm" } }, { reliable: true });
  }
  const stream = keys.gateway("gw");
  let last = "$";
  const read = async () => {
    for (;;) {
      const res = (await redis.xread("COUNT", 50, "STREAMS", stream, last === "$" ? "0-0" : last)) as
        | [string, [string, string[]][]][]
        | null;
      const entries = res?.[0]?.[1] ?? [];
      if (!entries.length) return;
      last = entries[entries.length - 1]?.[0] ?? last;
    }
  };
  await read();
  const flush = async (f: number) => {
    const calls: Promise<unknown>[] = [];
    for (let k = 0; k < 16; k++) {
      const start = ((f * 16 + k) * 1_000) % USERS;
      calls.push(
        delivery.deliver(
          users.slice(start, start + 1_000),
          { type: "job", job: { id: `j${f}.${k}` } },
          { reliable: true },
        ),
      );
    }
    await Promise.all(calls);
    await read();
  };
  await flush(0);
  const pid = proc.pid;
  const stat = async () => {
    const f = (await Bun.file(`/proc/${pid}/stat`).text()).split(") ")[1]?.split(" ") ?? [];
    return (Number(f[11]) + Number(f[12])) / 100;
  };
  if (CALLGRIND) Bun.spawnSync(["callgrind_control", "-z", String(pid)]);
  const cpu0 = process.cpuUsage();
  const r0 = await stat();
  for (let f = 1; f <= FLUSHES; f++) await flush(f);
  const cpu = process.cpuUsage(cpu0);
  const r1 = await stat();
  const frames = FLUSHES * 16_000;
  let dumps = 0;
  /** Instructions since callgrind was last zeroed. */
  const dumped = async () => {
    Bun.spawnSync(["callgrind_control", "-d", String(pid)]);
    await Bun.sleep(500);
    const text = await Bun.file(`${out}.${++dumps}`).text();
    return Number(/^(?:summary|totals): (\d+)/m.exec(text)?.[1] ?? 0);
  };
  let ir = "";
  if (CALLGRIND) {
    ir = `redis ${Math.round((await dumped()) / frames).toLocaleString("en-US")} instructions per frame; `;
    // A gateway's periodic presence refresh of all its users.
    Bun.spawnSync(["callgrind_control", "-z", String(pid)]);
    await presence.refresh("gw", users);
    ir += `${Math.round((await dumped()) / USERS).toLocaleString("en-US")} per user of a presence refresh; `;
  }
  console.log(
    `${ir}redis CPU ${(((r1 - r0) / frames) * 1e7).toFixed(1)} ms per 10k frames; producer CPU ` +
      `${(((cpu.user + cpu.system) / 1000 / frames) * 1e4).toFixed(1)} ms per 10k frames (${frames} frames, ${USERS} users)`,
  );
} finally {
  redis.disconnect();
  proc.kill(9);
  await proc.exited;
}
