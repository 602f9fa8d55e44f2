/**
 * Which of `users` are still connected to some gateway. The processor keeps an expiring viewport alive only for
 * users it returns. Without one, viewports live exactly their TTL after the last viewport event.
 */
export type PresenceCheck = (users: readonly string[]) => Promise<ReadonlySet<string>>;
