/** A message did not match its stream's schema; nothing was written. */
export class MessageValidationError extends Error {
  override readonly name = "MessageValidationError";
  constructor(
    readonly stream: string,
    readonly issues: readonly { path: string; message: string }[],
  ) {
    super(`invalid message for ${stream}: ${issues.map((i) => `${i.path || "(root)"} ${i.message}`).join("; ")}`);
  }
}
