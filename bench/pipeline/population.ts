import { fixCell, offsetPoint, seededRandom, type TraceFix, traceFixId } from "@bump/geo";

/** A city-sized crowd: `users` first fixes spread at a constant density, then `moves` fixes of random users. */
export interface Crowd {
  fixes: TraceFix[];
  /** Index of the first move (the fixes before it place every user once). */
  firstMove: number;
}

/**
 * Builds a crowd around Berlin at about 250 users per km² (a 30 m disk holds about 0.7 other users), every fix
 * live for the whole run: times advance 1 ms per 100 fixes from `startMs`.
 */
export function crowd(users: number, moves: number, startMs: number, seed = 1): Crowd {
  const rnd = seededRandom(seed);
  const side = Math.sqrt(users / 250) * 1_000;
  const pos: [number, number][] = [];
  const fixes: TraceFix[] = [];
  const push = (u: number, lat: number, lng: number) => {
    const t = startMs + Math.floor(fixes.length / 100);
    fixes.push({
      id: traceFixId(seed, fixes.length),
      user_id: `u${u}`,
      latitude: lat,
      longitude: lng,
      accuracy: 10,
      recorded_at: t,
      received_at: t,
      cell: fixCell(lat, lng),
    });
  };
  for (let u = 0; u < users; u++) {
    const p = offsetPoint(52.52, 13.405, (rnd() - 0.5) * side, (rnd() - 0.5) * side);
    pos.push(p);
    push(u, p[0], p[1]);
  }
  for (let n = 0; n < moves; n++) {
    const u = Math.floor(rnd() * users);
    const [lat, lng] = pos[u] as [number, number];
    const p = offsetPoint(lat, lng, (rnd() - 0.5) * 20, (rnd() - 0.5) * 20);
    pos[u] = p;
    push(u, p[0], p[1]);
  }
  return { fixes, firstMove: users };
}
