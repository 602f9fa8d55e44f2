import { type Viewport, viewportContains } from "@bump/contracts";
import RBush, { type BBox } from "rbush";
import type { ViewportIndex } from "./viewport-index.ts";

interface Item extends BBox {
  readonly user: string;
  readonly box: Viewport;
}

/**
 * An R-tree (rbush) of viewports; a box crossing the antimeridian is stored as two rectangles (west..180 and
 * -180..east). A point lies in at most one of the halves, so each user is reported once.
 */
export class RbushViewportIndex implements ViewportIndex {
  private readonly tree: RBush<Item>;
  private readonly items = new Map<string, Item[]>();
  private readonly probe: BBox = { minX: 0, minY: 0, maxX: 0, maxY: 0 };

  /** `maxEntries`: node fan-out of the tree. Default 16. */
  constructor(maxEntries = 16) {
    this.tree = new RBush<Item>(maxEntries);
  }

  get size(): number {
    return this.items.size;
  }

  set(user: string, box: Viewport): void {
    this.delete(user);
    const rect = (minX: number, maxX: number): Item => ({
      minX,
      maxX,
      minY: box.south,
      maxY: box.north,
      user,
      box,
    });
    const parts = box.west <= box.east ? [rect(box.west, box.east)] : [rect(box.west, 180), rect(-180, box.east)];
    for (const p of parts) this.tree.insert(p);
    this.items.set(user, parts);
  }

  delete(user: string): boolean {
    const parts = this.items.get(user);
    if (!parts) return false;
    for (const p of parts) this.tree.remove(p);
    this.items.delete(user);
    return true;
  }

  query(lat: number, lng: number, out: string[]): string[] {
    const p = this.probe;
    p.minX = p.maxX = lng;
    p.minY = p.maxY = lat;
    let seen: string | undefined;
    for (const item of this.tree.search(p)) {
      if (item.user === seen || !viewportContains(item.box, lat, lng)) continue;
      seen = item.user;
      out.push(item.user);
    }
    return out;
  }
}
