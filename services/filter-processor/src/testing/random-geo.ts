import type { Viewport } from "@bump/contracts";

/** A seeded PRNG (mulberry32) so a failing random test can be replayed from its seed. */
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

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const round = (v: number) => Math.round(v * 1e4) / 1e4;

/**
 * A random valid viewport: mostly city-sized boxes, plus boxes crossing the antimeridian, polar boxes reaching
 * +-90, whole-width boxes and degenerate (zero-size) ones, with coordinates on a 1e-4 grid so edges are hit.
 */
export function randomViewport(r: () => number): Viewport {
  const kind = r();
  if (kind < 0.1) {
    const west = round(150 + r() * 30);
    return { south: round(-60 + r() * 60), north: round(0 + r() * 60), west, east: round(-180 + r() * 30) };
  }
  if (kind < 0.18) {
    const north = r() < 0.5;
    const edge = round(60 + r() * 29);
    return north
      ? { south: edge, north: 90, west: round(-180 + r() * 180), east: round(r() * 180) }
      : { south: -90, north: -edge, west: round(-180 + r() * 180), east: round(r() * 180) };
  }
  if (kind < 0.2) return { south: round(-90 + r() * 90), north: round(r() * 90), west: -180, east: 180 };
  if (kind < 0.22) {
    const lat = round(-90 + r() * 180);
    const lng = round(-180 + r() * 360);
    return { south: lat, north: lat, west: lng, east: lng };
  }
  const lat = -85 + r() * 170;
  const lng = -180 + r() * 360;
  const h = r() * 3;
  const w = r() * 4;
  const west = round(clamp(lng - w / 2, -180, 180));
  const east = round(clamp(lng + w / 2, -180, 180));
  return { south: round(clamp(lat - h / 2, -90, 90)), north: round(clamp(lat + h / 2, -90, 90)), west, east };
}

/**
 * A random point: near one of `boxes` (often exactly on an edge or corner), on the antimeridian or a pole, or
 * anywhere.
 */
export function randomPoint(r: () => number, boxes: readonly Viewport[]): { lat: number; lng: number } {
  const kind = r();
  const box = boxes[Math.floor(r() * boxes.length)];
  if (box && kind < 0.6) {
    const lat = r() < 0.2 ? (r() < 0.5 ? box.south : box.north) : round(box.south + r() * (box.north - box.south));
    const width = box.west <= box.east ? box.east - box.west : 360 - box.west + box.east;
    let lng = r() < 0.2 ? (r() < 0.5 ? box.west : box.east) : round(box.west + r() * width + (r() - 0.5) * 0.01);
    if (lng > 180) lng -= 360;
    return { lat: clamp(lat + (r() < 0.1 ? 0.0001 : 0), -90, 90), lng: clamp(lng, -180, 180) };
  }
  if (kind < 0.7) return { lat: round(-90 + r() * 180), lng: r() < 0.5 ? 180 : -180 };
  if (kind < 0.75) return { lat: r() < 0.5 ? 90 : -90, lng: round(-180 + r() * 360) };
  return { lat: round(-90 + r() * 180), lng: round(-180 + r() * 360) };
}
