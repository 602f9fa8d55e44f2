import type { ErrorCode } from "@bump/contracts";
import { errorStatus } from "@bump/contracts";

/**
 * An error the API answers as `{error:{code, message, details}}` with the status of `code`. Throw it from any
 * route or middleware; the app's one `onError` renders it. `headers` are added to the answer (e.g. `Retry-After`).
 */
export class HttpError extends Error {
  override readonly name = "HttpError";
  /** The HTTP status of {@link HttpError.code}. */
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.status = errorStatus[code];
  }
}
