/** Synthetic viewports and entity changes for the filter benchmark: people and entities clustered in cities. */
import type { EntityEvent, Viewport } from "@bump/contracts";

/** A seeded PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** City centres: `n` random places, some near the antimeridian. */
export function cities(r: () => number, n: number): { lat: number; lng: number }[] {
  return Array.from({ length: n }, (_, i) => ({
    lat: -60 + r() * 130,
    lng: i % 25 === 0 ? 179.5 : -179 + r() * 358,
  }));
}

/** City-sized viewports (0.02..0.12 degrees) spread over a 2x2 degree area around a random city. */
export function viewports(r: () => number, places: { lat: number; lng: number }[], n: number): Viewport[] {
  return Array.from({ length: n }, () => {
    const c = places[Math.floor(r() * places.length)] as { lat: number; lng: number };
    const lat = c.lat + (r() - 0.5) * 2;
    let lng = c.lng + (r() - 0.5) * 2;
    if (lng > 180) lng -= 360;
    const h = 0.02 + r() * 0.1;
    const w = 0.02 + r() * 0.1;
    let west = lng - w / 2;
    let east = lng + w / 2;
    if (west < -180) west += 360;
    if (east > 180) east -= 360;
    return { south: lat - h / 2, north: lat + h / 2, west, east };
  });
}

/** An entity upsert at a random spot of a random city. */
export function change(r: () => number, places: { lat: number; lng: number }[], ids: number, at: number): EntityEvent {
  const c = places[Math.floor(r() * places.length)] as { lat: number; lng: number };
  let lng = c.lng + (r() - 0.5) * 2;
  if (lng > 180) lng -= 360;
  return {
    op: "upsert",
    id: `e${Math.floor(r() * ids)}`,
    kind: r() < 0.5 ? "vehicle" : "event",
    latitude: c.lat + (r() - 0.5) * 2,
    longitude: lng,
    data: { level: Math.floor(r() * 10) },
    updated_at: at,
  };
}

/** The `q`-quantile of sorted numbers. */
export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}
