/**
 * Redis Cluster slots. A cluster refuses a script, transaction or multi-key command whose keys lie in several slots,
 * and ioredis refuses a pipeline spanning nodes; callers that batch the keys of many tags split the batch with
 * {@link groupBySlot} in cluster mode.
 */

const table = new Uint16Array(256);
for (let i = 0; i < 256; i++) {
  let crc = i << 8;
  for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1;
  table[i] = crc & 0xffff;
}

const encoder = new TextEncoder();

/** The cluster slot (0..16383) of `key`: CRC16 of its hash tag (the first non-empty `{...}`), else of the key. */
export function keySlot(key: string): number {
  const open = key.indexOf("{");
  if (open !== -1) {
    const close = key.indexOf("}", open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of encoder.encode(key)) crc = ((crc << 8) ^ (table[((crc >> 8) ^ byte) & 0xff] ?? 0)) & 0xffff;
  return crc & 16383;
}

/**
 * Splits `items` into groups whose keys (`keyOf`) share a slot, each keeping the order of `items`. With `split`
 * false (one server) everything is one group.
 */
export function groupBySlot<T>(items: readonly T[], keyOf: (item: T) => string, split = true): T[][] {
  if (!split) return items.length ? [items.slice()] : [];
  const groups = new Map<number, T[]>();
  for (const item of items) {
    const slot = keySlot(keyOf(item));
    const group = groups.get(slot);
    if (group) group.push(item);
    else groups.set(slot, [item]);
  }
  return [...groups.values()];
}
