import { type LocationEvent, locationEvent } from "@bump/contracts";

/** The benchmark's message schema: a `locations` stream fix, about 200 bytes of JSON. */
export const benchSchema = locationEvent;

/** `n` distinct location fixes. */
export function makeMessages(n: number): LocationEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    id: crypto.randomUUID(),
    user_id: `user-${i % 10_000}`,
    latitude: 52.52 + (i % 1000) / 1e5,
    longitude: 13.405 + (i % 997) / 1e5,
    accuracy: 8,
    recorded_at: 1_800_000_000_000 + i,
    received_at: 1_800_000_000_000 + i,
    cell: "8a1f1d48945ffff",
  }));
}
