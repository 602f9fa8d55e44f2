/**
 * Which gateways a user is connected to. A gateway registers its users with a TTL and refreshes them; a
 * registration not refreshed within the TTL (a crashed gateway) expires on its own.
 */
export interface Presence {
  /** Registers (or refreshes) `users` on `gateway` until now + TTL. Pipelined. */
  register(gateway: string, users: readonly string[]): Promise<void>;
  /**
   * Extends registrations of `users` on `gateway` that are still live to now + TTL, more cheaply than
   * {@link register}; a registration that lapsed must be made again with {@link register}. Pipelined.
   */
  refresh(gateway: string, users: readonly string[]): Promise<void>;
  /** Removes `users` from `gateway` at once (disconnect, shutdown). Pipelined. */
  unregister(gateway: string, users: readonly string[]): Promise<void>;
  /** The gateways each user is on now; users on none are absent. Pipelined. */
  lookup(users: readonly string[]): Promise<Map<string, string[]>>;
}
