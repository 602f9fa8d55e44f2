import { z } from "zod";

/** Machine-readable codes of HTTP error bodies; each maps to one status in {@link errorStatus}. */
export const errorCode = z.enum([
  "invalid_request",
  "unauthorized",
  "forbidden",
  "not_found",
  "payload_too_large",
  "rate_limited",
  "overloaded",
  "internal",
]);

/** An HTTP error code as typed by {@link errorCode}. */
export type ErrorCode = z.infer<typeof errorCode>;

/** The HTTP status of each error code. `overloaded` answers carry `Retry-After`. */
export const errorStatus = {
  invalid_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  payload_too_large: 413,
  rate_limited: 429,
  internal: 500,
  overloaded: 503,
} as const satisfies Record<ErrorCode, number>;

/** One field problem of an invalid request: `path` is dotted (`updates.3.latitude`), `""` for the whole body. */
export const errorDetail = z.strictObject({ path: z.string(), message: z.string() });

/** A field problem as typed by {@link errorDetail}. */
export type ErrorDetail = z.infer<typeof errorDetail>;

/** Every HTTP error body: `{error:{code, message, details?}}`; `details` lists field problems for `invalid_request`. */
export const errorBody = z.strictObject({
  error: z.strictObject({
    code: errorCode,
    message: z.string(),
    details: z.unknown().optional(),
  }),
});

/** An HTTP error body as typed by {@link errorBody}. */
export type ErrorBody = z.infer<typeof errorBody>;

/**
 * WebSocket close codes. 4000-4999 are ours; a client reconnects (and resumes) after 1012 and 4008, and should
 * not retry 4001/4003 with the same token.
 */
export const closeCode = {
  /** 1009: an inbound frame was over 64 KiB. */
  tooBig: 1009,
  /** 1012: the gateway is restarting; reconnect and resume from the last offset. */
  restart: 1012,
  /** 4001: no valid token (missing, bad, expired, or no `auth` frame within 5 s). */
  unauthorized: 4001,
  /** 4003: the token is valid but not allowed this. */
  forbidden: 4003,
  /** 4008: the send buffer stayed over its limit; reconnect and resume, nothing reliable is lost. */
  slowConsumer: 4008,
  /** 4029: too many inbound frames. */
  rateLimited: 4029,
  /** 4400: the client broke the protocol (e.g. a frame other than `auth` before authenticating). */
  protocolError: 4400,
} as const;

/** A close code as typed by {@link closeCode}. */
export type CloseCode = (typeof closeCode)[keyof typeof closeCode];

/** Anything shaped like a `ZodError`: a list of issues with a path and a message. */
export interface IssueList {
  readonly issues: readonly {
    readonly code?: string;
    readonly path: readonly PropertyKey[];
    readonly message: string;
    readonly keys?: readonly string[];
  }[];
}

function joinPath(path: readonly PropertyKey[]): string {
  return path.map((p) => (typeof p === "symbol" ? (p.description ?? "") : String(p))).join(".");
}

/**
 * Flattens a `ZodError` into `[{path: "a.b", message}]` for the `details` of an `invalid_request`.
 * An unknown field is reported at its own path, e.g. `{path: "user_id", message: "unknown field"}`.
 */
export function zodIssuesToDetails(error: IssueList): ErrorDetail[] {
  const details: ErrorDetail[] = [];
  for (const issue of error.issues) {
    if (issue.code === "unrecognized_keys" && issue.keys?.length) {
      for (const key of issue.keys) details.push({ path: joinPath([...issue.path, key]), message: "unknown field" });
    } else {
      details.push({ path: joinPath(issue.path), message: issue.message });
    }
  }
  return details;
}
