import type { Context } from "hono";
import { HttpError } from "../errors/http-error.ts";

/** Reads the body of `req` as JSON once; malformed JSON (including `NaN`) answers 400 `invalid_request`. */
export async function readRequestJson(req: Request): Promise<unknown> {
  try {
    return await req.json();
  } catch {
    throw new HttpError("invalid_request", "body is not valid JSON", [{ path: "", message: "invalid JSON" }]);
  }
}

/** Reads the request body as JSON once; malformed JSON (including `NaN`) answers 400 `invalid_request`. */
export function readJson(c: Context): Promise<unknown> {
  return readRequestJson(c.req.raw);
}
