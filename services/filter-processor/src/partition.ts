/** FNV-1a 32-bit hash of a string's UTF-16 code units. Stable across processes and versions. */
export function hashUser(user: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < user.length; i++) {
    h ^= user.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Whether instance `index` of `instances` owns `user`'s viewport: exactly one instance owns each user. */
export function ownsUser(user: string, instances: number, index: number): boolean {
  return instances <= 1 || hashUser(user) % instances === index;
}
