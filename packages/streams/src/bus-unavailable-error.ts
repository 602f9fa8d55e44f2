/** Redis did not accept a write (unreachable, or refused it); nothing was acknowledged. */
export class BusUnavailableError extends Error {
  override readonly name = "BusUnavailableError";
  constructor(
    readonly stream: string,
    options?: { cause?: unknown },
  ) {
    super(`the bus is unavailable for ${stream}`, options);
  }
}
