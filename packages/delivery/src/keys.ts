/**
 * Every Redis key of delivery, built in one place. A user's sequence, history, idempotency markers and presence
 * share the hash tag `{u:<id>}`, so the append script touches one Redis Cluster slot. Each gateway reads its own
 * stream `deliver:{<gateway>}`.
 */

/** The keys of one user, all in the user's slot. */
export interface UserKeys {
  /**
   * Hash `{e: epoch, s: last sequence, w: "<expiry deadline ms> <epoch> <until ms>[ <gateway>...]"}`: `w` holds the
   * live gateways as presence last noted them, valid until the earliest registration expiry. A user with no
   * sequence yet has the note in `g: "<until ms>[ <gateway>...]"`. Metas written before `w` was (`v: "<deadline>
   * <epoch>"` and `g`, or before that `x: <deadline>`) are read once through `e` and `g` and given `w`.
   */
  readonly meta: string;
  /**
   * Capped stream of the user's reliable frames: each entry holds one or more frames with consecutive sequences
   * (field `s` the first one's sequence, then one `f` field per frame text, in order).
   */
  readonly history: string;
  /** Sorted set of gateway ids scored by the time (ms) their registration expires. */
  readonly presence: string;
  /** Marker of a frame id already appended, holding its sequence. */
  frame(frameId: string): string;
}

/** The key builders of one namespace. */
export interface DeliveryKeys {
  readonly ns: string;
  user(userId: string): UserKeys;
  /**
   * The user's meta key alone, `<tag>:meta`: the append script takes only it and names the user's other keys from
   * its tag (`<tag>:history`, `<tag>:gw`, `<tag>:f:<id>`), so those names change together with this file.
   */
  meta(userId: string): string;
  /** The user's presence key alone, as `user(userId).presence`. */
  presence(userId: string): string;
  /** The stream a gateway reads: `deliver:{<gateway>}`. */
  gateway(gatewayId: string): string;
}

/** Builds delivery keys under namespace `ns` (empty in production; tests use one each). */
export function deliveryKeys(ns = ""): DeliveryKeys {
  const pre = ns ? `${ns}:` : "";
  return {
    ns,
    user(userId) {
      const tag = `{${pre}u:${userId}}`;
      return {
        meta: `${tag}:meta`,
        history: `${tag}:history`,
        presence: `${tag}:gw`,
        frame: (frameId) => `${tag}:f:${frameId}`,
      };
    },
    meta: (userId) => `{${pre}u:${userId}}:meta`,
    presence: (userId) => `{${pre}u:${userId}}:gw`,
    gateway: (gatewayId) => `deliver:{${pre}${gatewayId}}`,
  };
}
