/**
 * Runs the whole suite with `bun test` on one throwaway redis-server, then every test that reaches Redis through
 * the shared `REDIS_URL` again on a throwaway 3-master Redis Cluster, and ends with one line `N passed, N failed`
 * summing both runs. Tests that kill Redis or test TLS and passwords start their own single server and run once.
 *
 * `--redis=single|cluster|both` (default both) picks the runs; other arguments go to `bun test` (path filters
 * narrow both runs). With REDIS_URL set, the single run uses it and starts no server.
 */

import { startRedisCluster, startRedisServer } from "@bump/testing";
import { Glob } from "bun";

type Mode = "single" | "cluster" | "both";
const args = process.argv.slice(2);
const mode = (args.find((a) => a.startsWith("--redis="))?.slice("--redis=".length) ?? "both") as Mode;
if (!["single", "cluster", "both"].includes(mode)) throw new Error(`--redis must be single, cluster or both`);
const extra = args.filter((a) => !a.startsWith("--redis="));
const filters = extra.filter((a) => !a.startsWith("-"));
const flags = extra.filter((a) => a.startsWith("-"));

/** Test files that reach Redis through the shared REDIS_URL (directly or through a shared test harness). */
async function sharedRedisTests(): Promise<string[]> {
  const uses = /testRedisUrl|test-deps|testing\/harness|testing\/e2e/;
  const files: string[] = [];
  for await (const file of new Glob("{packages,services,scripts,infra}/**/*.test.ts").scan(".")) {
    if (file.includes("node_modules")) continue;
    if (filters.length && !filters.some((f) => file.includes(f))) continue;
    if (uses.test(await Bun.file(file).text())) files.push(`./${file}`);
  }
  return files.sort();
}

/** Runs `bun test` with `testArgs` against `redisUrl`, echoing its output; counts its passes and failures. */
async function run(label: string, redisUrl: string, testArgs: string[]): Promise<{ passed: number; failed: number }> {
  console.log(`\n=== ${label} ===`);
  const proc = Bun.spawn(["bun", "test", "--timeout", "120000", ...testArgs], {
    env: { ...process.env, REDIS_URL: redisUrl },
    stdout: "pipe",
    stderr: "pipe",
  });
  let text = "";
  const pump = async (stream: ReadableStream<Uint8Array>, out: NodeJS.WriteStream) => {
    const dec = new TextDecoder();
    for await (const chunk of stream) {
      const s = dec.decode(chunk);
      text += s;
      out.write(s);
    }
  };
  await Promise.all([
    pump(proc.stdout as ReadableStream<Uint8Array>, process.stdout),
    pump(proc.stderr as ReadableStream<Uint8Array>, process.stderr),
  ]);
  const code = await proc.exited;
  const count = (word: string) => Number(text.match(new RegExp(`^\\s*(\\d+) ${word}$`, "m"))?.[1] ?? 0);
  const passed = count("pass");
  let failed = count("fail");
  if ((code !== 0 || passed === 0) && failed === 0) failed = 1;
  return { passed, failed };
}

let passed = 0;
let failed = 0;
const tally = (r: { passed: number; failed: number }) => {
  passed += r.passed;
  failed += r.failed;
};

if (mode !== "cluster") {
  const server = process.env.REDIS_URL ? undefined : await startRedisServer();
  try {
    tally(await run("one redis-server", process.env.REDIS_URL ?? server?.url ?? "", extra));
  } finally {
    await server?.stop();
  }
}
if (mode !== "single") {
  const files = await sharedRedisTests();
  if (files.length) {
    const cluster = await startRedisCluster();
    try {
      // the flag rides on the URL, so services the tests spawn with this REDIS_URL run in cluster mode too
      tally(await run("3-master Redis Cluster", `${cluster.url}?cluster=1`, [...flags, ...files]));
    } finally {
      await cluster.stop();
    }
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
