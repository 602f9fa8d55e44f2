import type { MiddlewareHandler } from "hono";
import { HttpError } from "../errors/http-error.ts";

function tooLarge(maxBytes: number): HttpError {
  return new HttpError("payload_too_large", `request body over ${maxBytes} bytes`);
}

/** Reads a body of unknown length up to `maxBytes`; throws 413 `payload_too_large` past that. */
async function readCapped(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      void reader.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/**
 * `req` when its body is within `maxBytes`, else throws 413 `payload_too_large`. A body with a `Content-Length`
 * is judged by the header alone, without touching the body, so the route reads it on the server's fast path;
 * a body without one (chunked) is read here, at most `maxBytes` of it, and resolves a request holding it.
 */
export function limitBody(req: Request, maxBytes: number): Request | Promise<Request> {
  const length = req.headers.get("content-length");
  if (length !== null && !req.headers.has("transfer-encoding")) {
    if (Number.parseInt(length, 10) > maxBytes) throw tooLarge(maxBytes);
    return req;
  }
  const body = req.body;
  if (body === null) return req;
  return readCapped(body, maxBytes).then((bytes) => new Request(req, { body: bytes }));
}

/** Hono middleware answering 413 `payload_too_large` to a request whose body is over `maxBytes` ({@link limitBody}). */
export function bodyLimit(maxBytes: number): MiddlewareHandler {
  return (c, next) => {
    const req = c.req.raw;
    const limited = limitBody(req, maxBytes);
    if (limited === req) return next();
    return Promise.resolve(limited).then((capped) => {
      c.req.raw = capped;
      return next();
    });
  };
}
