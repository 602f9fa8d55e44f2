import type { EntityEvent, EntityFilter, PublicEntity, Viewport } from "@bump/contracts";
import { matchesFilter, serverFrame, viewportContains } from "@bump/contracts";

/**
 * What a client holds, built only from the frames it received: a snapshot replaces everything, an `entity`
 * upsert sets one entity and a remove deletes it. Every frame is checked against the contract's schema.
 */
export class ClientModel {
  readonly held = new Map<string, PublicEntity>();
  frames = 0;

  apply(text: string): { upserts: PublicEntity[] } {
    const frame = serverFrame.parse(JSON.parse(text));
    this.frames++;
    if (frame.type === "entities") {
      this.held.clear();
      for (const e of frame.entities) this.held.set(e.id, e);
      return { upserts: frame.entities };
    }
    if (frame.type !== "entity") throw new Error(`unexpected frame ${frame.type}`);
    if (frame.op === "remove") {
      this.held.delete(frame.entity.id);
      return { upserts: [] };
    }
    this.held.set(frame.entity.id, frame.entity);
    return { upserts: [frame.entity] };
  }
}

/** The oracle's state of one entity: its last applied upsert, with audience. */
export type OracleEntity = Extract<EntityEvent, { op: "upsert" }>;

/** Brute force: applies changes last-writer-wins and answers exactly what a user must hold. */
export class Oracle {
  readonly entities = new Map<string, OracleEntity>();
  /** Every upsert ever applied, by `<id>@<updated_at>`. */
  readonly versions = new Map<string, OracleEntity>();
  private readonly times = new Map<string, number>();

  apply(e: EntityEvent): void {
    if ((this.times.get(e.id) ?? -1) >= e.updated_at) return;
    if (e.op === "upsert") this.versions.set(`${e.id}@${e.updated_at}`, e);
    this.times.set(e.id, e.updated_at);
    if (e.op === "remove") this.entities.delete(e.id);
    else this.entities.set(e.id, e);
  }

  /** Whether `user` with this viewport and filter may see `e`. */
  static visible(user: string, box: Viewport, filter: EntityFilter | undefined, e: OracleEntity): boolean {
    return (
      viewportContains(box, e.latitude, e.longitude) &&
      (!filter || matchesFilter(filter, e.kind, e.data ?? {})) &&
      (!e.audience || e.audience.includes(user))
    );
  }

  /** The public form of every entity the user must hold, by id. */
  expected(user: string, box: Viewport, filter: EntityFilter | undefined): Map<string, PublicEntity> {
    const out = new Map<string, PublicEntity>();
    for (const e of this.entities.values()) if (Oracle.visible(user, box, filter, e)) out.set(e.id, toPublic(e));
    return out;
  }
}

/** The public form of an upsert event. */
export function toPublic(e: OracleEntity): PublicEntity {
  return {
    id: e.id,
    kind: e.kind,
    latitude: e.latitude,
    longitude: e.longitude,
    data: e.data ?? {},
    updated_at: new Date(e.updated_at).toISOString(),
  };
}
