/** The peer of the ingest benchmark: a bare Bun.serve JSON endpoint (parse the body, answer 202 `{id}`). */
const port = Number(process.argv[2]);
Bun.serve({
  port,
  hostname: "127.0.0.1",
  async fetch(req) {
    await req.json();
    return Response.json({ id: crypto.randomUUID() }, { status: 202 });
  },
});
process.send?.("ready");
