import type { Context } from "hono";
import { HttpError } from "../errors/http-error.ts";

/** Reads the request body as JSON once; malformed JSON (including `NaN`) answers 400 `invalid_request`. */
export async function readJson(c: Context): Promise<unknown> {
  try {
    return await c.req.raw.json();
  } catch {
    throw new HttpError("invalid_request", "body is not valid JSON", [{ path: "", message: "invalid JSON" }]);
  }
}
