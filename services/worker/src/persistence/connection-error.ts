/** Node/postgres.js error codes meaning the database could not be reached or the link broke. */
const networkCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
]);

/**
 * True when `err` (or any error in its `cause` chain: drizzle wraps driver errors) says the database is
 * unreachable or unavailable rather than that the statement is wrong: network errors, SQLSTATE class 08
 * (connection exception), 53 (insufficient resources, e.g. too many connections) and 57P01-57P03 (shutdown,
 * cannot connect now). Such a failure says nothing about the rows, so they must wait, not be dead-lettered.
 */
export function isConnectionError(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== "string") continue;
    if (networkCodes.has(code)) return true;
    if (/^(08|53)[0-9A-Z]{3}$/.test(code) || /^57P0[1-3]$/.test(code)) return true;
  }
  return false;
}
