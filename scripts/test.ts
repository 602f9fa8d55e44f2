/**
 * Runs the whole suite with `bun test` and ends with one line `N passed, N failed`. Starts one throwaway
 * redis-server for the suite when REDIS_URL is unset; tests that kill Redis start their own.
 */
import { startRedisServer } from "@bump/testing";

const extra = process.argv.slice(2);
const env: Record<string, string | undefined> = { ...process.env };
let redis: Awaited<ReturnType<typeof startRedisServer>> | undefined;
if (!env.REDIS_URL) {
  redis = await startRedisServer();
  env.REDIS_URL = redis.url;
}
const proc = Bun.spawn(["bun", "test", "--timeout", "120000", ...extra], {
  env,
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
await redis?.stop();
const count = (word: string) => Number(text.match(new RegExp(`^\\s*(\\d+) ${word}$`, "m"))?.[1] ?? 0);
const passed = count("pass");
let failed = count("fail");
if (code !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(code === 0 && passed > 0 ? 0 : 1);
