import { type BumpRules, bumpIdOf, type FixInput, fixTime, pairKey } from "./bump-rules.ts";
import { haversineM } from "./haversine.ts";

/** A bump as the oracle finds it. `user_a < user_b`; `at` is the later of the two fix times. */
export interface OracleBump {
  id: string;
  user_a: string;
  user_b: string;
  distance_m: number;
  at: number;
}

/**
 * The reference semantics of bump detection, by brute force (O(users) per fix). Fixes are taken in stream order:
 * 1. the clock is the largest `received_at` seen so far, including this fix; a fix is live while its time
 *    ({@link fixTime}) is at least `clock - windowMs`;
 * 2. a fix whose id is the user's latest, or whose time is before the user's latest, is ignored;
 * 3. otherwise it becomes the user's latest; if its accuracy is worse than `maxAccuracyM` or it is not live it
 *    bumps nobody (and the user's earlier fix no longer bumps either);
 * 4. else it bumps every other user whose latest fix is accurate, live, within `windowMs` of it and within
 *    `radiusM` of it by haversine, unless the pair bumped less than `cooldownMs` before (by bump time).
 */
export function bumpOracle(fixes: Iterable<FixInput>, rules: BumpRules): OracleBump[] {
  const latest = new Map<string, { fix: FixInput; at: number; ok: boolean }>();
  const last = new Map<string, number>();
  const out: OracleBump[] = [];
  let clock = Number.NEGATIVE_INFINITY;
  for (const fix of fixes) {
    if (fix.received_at > clock) clock = fix.received_at;
    const at = fixTime(fix);
    const prev = latest.get(fix.user_id);
    if (prev && (prev.fix.id === fix.id || at < prev.at)) continue;
    const ok = (fix.accuracy ?? 0) <= rules.maxAccuracyM;
    latest.set(fix.user_id, { fix, at, ok });
    const floor = clock - rules.windowMs;
    if (!ok || at < floor) continue;
    for (const [user, other] of latest) {
      if (user === fix.user_id || !other.ok || other.at < floor || Math.abs(other.at - at) > rules.windowMs) continue;
      const d = haversineM(fix.latitude, fix.longitude, other.fix.latitude, other.fix.longitude);
      if (d > rules.radiusM) continue;
      const key = pairKey(fix.user_id, user);
      const bumpAt = Math.max(at, other.at);
      const prior = last.get(key);
      if (prior !== undefined && bumpAt < prior + rules.cooldownMs) continue;
      last.set(key, bumpAt);
      const [a, b] = fix.user_id < user ? [fix.user_id, user] : [user, fix.user_id];
      out.push({ id: bumpIdOf(fix.id, other.fix.id), user_a: a, user_b: b, distance_m: d, at: bumpAt });
    }
  }
  return out;
}
