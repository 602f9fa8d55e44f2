import { fixCell, offsetPoint, seededRandom } from "@bump/geo";

/** One simulated fix, as the phone would send it plus the simulator's own bookkeeping. */
export interface SimFix {
  id: string;
  user_id: string;
  latitude: number;
  longitude: number;
  accuracy: number;
  recorded_at: number;
  cell: string;
}

/** Options of {@link City}. */
export interface CityOptions {
  users: number;
  /** Users in groups that walk to a common point and stay there a while. Default 10% of users, in groups of 4. */
  groups: number;
  groupSize: number;
  /** Side of the square city, metres. Default 5,000. */
  sideM: number;
  seed: number;
  center?: { latitude: number; longitude: number };
}

interface Walker {
  user: string;
  lat: number;
  lng: number;
  /** A meeting point the walker heads to, when in a group. */
  target?: [number, number];
}

/** Walking speed, m/s. */
const SPEED = 1.4;

/**
 * A city of random walkers plus groups that meet: every group picks a point, walks to it, and its members stay
 * within a few metres of it (so they bump) before the group picks the next point. Deterministic for a seed.
 */
export class City {
  private readonly walkers: Walker[] = [];
  private readonly rnd: () => number;
  private readonly center: { latitude: number; longitude: number };

  constructor(private readonly opts: CityOptions) {
    this.rnd = seededRandom(opts.seed);
    this.center = opts.center ?? { latitude: 52.52, longitude: 13.405 };
    for (let u = 0; u < opts.users; u++) {
      const [lat, lng] = this.randomPoint();
      this.walkers.push({ user: `sim${opts.seed}-${u}`, lat, lng });
    }
    for (let g = 0; g < opts.groups; g++) this.regroup(g);
  }

  /** The user ids, in order. */
  get users(): string[] {
    return this.walkers.map((w) => w.user);
  }

  private randomPoint(): [number, number] {
    const s = this.opts.sideM;
    return offsetPoint(this.center.latitude, this.center.longitude, (this.rnd() - 0.5) * s, (this.rnd() - 0.5) * s);
  }

  private regroup(g: number): void {
    const target = this.randomPoint();
    for (let k = 0; k < this.opts.groupSize; k++) {
      const w = this.walkers[g * this.opts.groupSize + k];
      if (w) w.target = target;
    }
  }

  /** Advances every walker by `dtS` seconds and returns one fix per walker taken at `now` (epoch ms). */
  step(dtS: number, now: number): SimFix[] {
    const out: SimFix[] = [];
    for (let g = 0; g < this.opts.groups; g++) if (this.rnd() < dtS / 120) this.regroup(g);
    for (const w of this.walkers) {
      const dist = SPEED * dtS;
      let dx = (this.rnd() - 0.5) * 2 * dist;
      let dy = (this.rnd() - 0.5) * 2 * dist;
      if (w.target) {
        const [tLat, tLng] = w.target;
        const ey = (tLat - w.lat) * 111_195;
        const ex = (tLng - w.lng) * 111_195 * Math.cos((w.lat * Math.PI) / 180);
        const far = Math.hypot(ex, ey);
        if (far > 8) {
          const k = Math.min(1, (SPEED * 3 * dtS) / far);
          dx = ex * k;
          dy = ey * k;
        } else {
          dx = ex * 0.5 + (this.rnd() - 0.5) * 4;
          dy = ey * 0.5 + (this.rnd() - 0.5) * 4;
        }
      }
      [w.lat, w.lng] = offsetPoint(w.lat, w.lng, dx, dy);
      out.push({
        id: crypto.randomUUID(),
        user_id: w.user,
        latitude: w.lat,
        longitude: w.lng,
        accuracy: this.rnd() < 0.03 ? 150 : 5 + this.rnd() * 20,
        recorded_at: now,
        cell: fixCell(w.lat, w.lng),
      });
    }
    return out;
  }
}
