/** Types of the parts of rbush 4 this service uses (the package ships none). */
declare module "rbush" {
  export interface BBox {
    minX: number;
    minY: number;
    maxX: number;
    maxY: number;
  }
  export default class RBush<T extends BBox> {
    constructor(maxEntries?: number);
    insert(item: T): this;
    load(items: readonly T[]): this;
    remove(item: T, equals?: (a: T, b: T) => boolean): this;
    search(box: BBox): T[];
    all(): T[];
    clear(): this;
  }
}
