/** A token was missing, malformed, badly signed, expired or carried invalid claims. */
export class AuthError extends Error {
  override readonly name = "AuthError";
}
