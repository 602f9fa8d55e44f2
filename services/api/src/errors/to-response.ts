import { AuthError } from "@bump/auth";
import { type ErrorCode, errorStatus, zodIssuesToDetails } from "@bump/contracts";
import type { Logger } from "@bump/service";
import { BusUnavailableError, OverloadedError } from "@bump/streams";
import { HTTPException } from "hono/http-exception";
import { ZodError } from "zod";
import { HttpError } from "./http-error.ts";

const codeOfStatus: Partial<Record<number, ErrorCode>> = {
  400: "invalid_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  405: "not_found",
  413: "payload_too_large",
  429: "rate_limited",
  503: "overloaded",
};

/** Seconds a client should wait before retrying after the bus was unreachable. */
const BUS_RETRY_AFTER_SECONDS = 1;

function body(code: ErrorCode, message: string, details?: unknown): string {
  return JSON.stringify({ error: details === undefined ? { code, message } : { code, message, details } });
}

/**
 * Maps any thrown value to the contract's error answer. Known errors keep their code: {@link HttpError},
 * `ZodError` (400 with field details), `AuthError` (401), `OverloadedError` and `BusUnavailableError` (503
 * `overloaded` with `Retry-After`), Hono's `HTTPException` (by status). Anything else is logged and answered as
 * 500 `internal` without its message.
 */
export function errorResponse(err: unknown, log: Logger, context: { method: string; path: string }): Response {
  let code: ErrorCode;
  let message: string;
  let details: unknown;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (err instanceof HttpError) {
    code = err.code;
    message = err.message;
    details = err.details;
    Object.assign(headers, err.headers);
  } else if (err instanceof ZodError) {
    code = "invalid_request";
    message = "invalid request";
    details = zodIssuesToDetails(err);
  } else if (err instanceof AuthError) {
    code = "unauthorized";
    message = err.message;
  } else if (err instanceof OverloadedError) {
    code = "overloaded";
    message = "ingest is overloaded; retry later";
    headers["retry-after"] = String(err.retryAfterSeconds);
  } else if (err instanceof BusUnavailableError) {
    log.warn("bus unavailable", { ...context, err: err.cause ?? err });
    code = "overloaded";
    message = "the message bus is unavailable; retry later";
    headers["retry-after"] = String(BUS_RETRY_AFTER_SECONDS);
  } else if (err instanceof HTTPException && codeOfStatus[err.status]) {
    code = codeOfStatus[err.status] as ErrorCode;
    message = err.message || code.replace("_", " ");
    if (code === "overloaded") headers["retry-after"] = String(BUS_RETRY_AFTER_SECONDS);
  } else {
    log.error("unhandled error", { ...context, err });
    code = "internal";
    message = "internal error";
  }
  return new Response(body(code, message, details), { status: errorStatus[code], headers });
}
