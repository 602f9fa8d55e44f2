/** The stream's consumers lag past the limit: the producer refuses new work until they catch up. */
export class OverloadedError extends Error {
  override readonly name = "OverloadedError";
  constructor(
    readonly stream: string,
    /** Seconds after which a retry is sensible. */
    readonly retryAfterSeconds = 1,
  ) {
    super(`stream ${stream} is overloaded`);
  }
}
