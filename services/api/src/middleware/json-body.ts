import type { Context } from "hono";
import { HttpError } from "../errors/http-error.ts";

/** The 400 `invalid_request` answering a body that is not JSON. */
export function notJson(): HttpError {
  return new HttpError("invalid_request", "body is not valid JSON", [{ path: "", message: "invalid JSON" }]);
}

/** Reads the body of `req` as JSON once; malformed JSON (including `NaN`) answers 400 `invalid_request`. */
export async function readRequestJson(req: Request): Promise<unknown> {
  try {
    return await req.json();
  } catch {
    throw notJson();
  }
}

/** Reads the request body as JSON once; malformed JSON (including `NaN`) answers 400 `invalid_request`. */
export function readJson(c: Context): Promise<unknown> {
  return readRequestJson(c.req.raw);
}
