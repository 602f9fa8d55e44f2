import type { EntityEvent, EntityFilter, Viewport } from "@bump/contracts";
import { randomPoint } from "./random-geo.ts";

const kinds = ["event", "post", "vehicle"];

/** A random filter: none, kinds, or conditions on `data.level` / `data.tag`. */
export function randomFilter(r: () => number): EntityFilter | undefined {
  const k = r();
  if (k < 0.4) return undefined;
  if (k < 0.6) return { kinds: kinds.filter(() => r() < 0.5) };
  if (k < 0.75) return { where: [{ field: "level", gte: Math.floor(r() * 5), lte: 5 + Math.floor(r() * 5) }] };
  if (k < 0.9) return { kinds: ["event", "post"], where: [{ field: "tag", in: ["a", "b"] }] };
  return { where: [{ field: "tag", eq: "a" }] };
}

/** A random entity change among `ids`, located near `boxes`, with time `at`. */
export function randomEntityChange(
  r: () => number,
  ids: readonly string[],
  users: readonly string[],
  boxes: readonly Viewport[],
  at: number,
): EntityEvent {
  const id = ids[Math.floor(r() * ids.length)] as string;
  if (r() < 0.12) return { op: "remove", id, updated_at: at };
  const { lat, lng } = randomPoint(r, boxes);
  const data: Record<string, string | number> = { level: Math.floor(r() * 10) };
  if (r() < 0.8) data.tag = r() < 0.5 ? "a" : r() < 0.5 ? "b" : "c";
  const audience = r() < 0.2 ? users.filter(() => r() < 0.3) : undefined;
  return {
    op: "upsert",
    id,
    kind: kinds[Math.floor(r() * kinds.length)] as string,
    latitude: lat,
    longitude: lng,
    data,
    ...(audience ? { audience } : {}),
    updated_at: at,
  };
}
