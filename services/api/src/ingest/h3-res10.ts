import { cellToLatLng, cellToParent, gridDisk, isPentagon, latLngToCell } from "h3-js";

/**
 * `latLngToCell(lat, lng, 10)` of h3-js, computed in plain JavaScript: the same gnomonic projection onto the
 * closest icosahedron face, hex rounding and aperture-7 digits as the H3 library (several times cheaper than the
 * compiled library behind its wrapper). It returns exactly what h3-js returns: a point within a hair (1e-9 of a
 * res-10 cell) of a cell edge or of two faces, any cell in a pentagon's base cell, and any face region not seen
 * before are answered by h3-js itself, which is also where each face region's base cell and rotation are learned.
 * A property test holds the two equal around the globe, the poles, the antimeridian and the pentagons.
 */

/** Icosahedron face centres (lat, lng in radians), as the H3 library defines them. */
const FACE_CENTER = [
  0.80358264971899, 1.2483974196173961, 1.3077478834556382, 2.5369450098779214, 1.054751253523952, -1.3475173589003966,
  0.6001915955381868, -0.45060390946975576, 0.49171542819877384, 0.40198820291130694, 0.1727453274156187,
  1.6781468852804338, 0.6059293215713507, 2.9539233298124117, 0.42737051832897965, -1.8888762003362853,
  -0.07906611854921283, -0.7334295133808677, -0.23096164445538364, 0.506495587332349, 0.07906611854921283,
  2.4081631402089254, 0.23096164445538364, -2.635097066257444, -0.1727453274156187, -1.4634457683093596,
  -0.6059293215713507, -0.18766932377738163, -0.42737051832897965, 1.2527164532535078, -0.6001915955381868,
  2.6909887441200375, -0.49171542819877384, -2.7396044506784865, -0.80358264971899, -1.8931952339723972,
  -1.3077478834556382, -0.6046476437118721, -1.054751253523952, 1.7940752946893965,
];
const FACES = 20;
const DEG = Math.PI / 180;
/** 1 / (res-0 unit length on the gnomonic plane), times sqrt(7)^10: hex2d units at resolution 10. */
const SCALE = 2.618033988749896 * 7 ** 5;
/** How close (hex2d units at res 10) a point may come to a cell edge and still be rounded here. */
const MARGIN = 1e-9;
/**
 * Squared chord below which a point counts as near its face centre and goes to h3-js: there the library's
 * `acos(1 - sqd / 2)` magnifies the last bit of `sqd` past MARGIN.
 */
const NEAR_CENTRE_SQD = 1e-4;
const SIN60 = Math.sqrt(3) / 2;
/** Two hex digits of each byte. */
const BYTE_HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));
/** The high word of the last cell and its hex (neighbouring fixes mostly share it). */
let lastHigh = -1;
let lastHighHex = "";
/** Multiplying by it and flooring divides by 7 exactly for the integers here. */
const SEVENTH = 1 / 7;

/** Per face: centre as a unit vector, sin and cos of its latitude and longitude, and of its grid's axis azimuth. */
const faceX = new Float64Array(FACES);
const faceY = new Float64Array(FACES);
const faceZ = new Float64Array(FACES);
const faceSinLat = new Float64Array(FACES);
const faceCosLat = new Float64Array(FACES);
const faceSinLng = new Float64Array(FACES);
const faceCosLng = new Float64Array(FACES);
const faceSinAxis = new Float64Array(FACES);
const faceCosAxis = new Float64Array(FACES);

for (let f = 0; f < FACES; f++) {
  const lat = FACE_CENTER[2 * f] as number;
  const lng = FACE_CENTER[2 * f + 1] as number;
  faceSinLat[f] = Math.sin(lat);
  faceCosLat[f] = Math.cos(lat);
  faceSinLng[f] = Math.sin(lng);
  faceCosLng[f] = Math.cos(lng);
  faceX[f] = Math.cos(lng) * Math.cos(lat);
  faceY[f] = Math.sin(lng) * Math.cos(lat);
  faceZ[f] = Math.sin(lat);
  // A neighbour of the face's centre cell lies one res-0 unit along one of the grid's six axis directions; which
  // one does not matter (the hex grid and the aperture-7 steps are symmetric under 60° turns): the rotation
  // learned per region absorbs it.
  const centre = latLngToCell(lat / DEG, lng / DEG, 0);
  const neighbour = gridDisk(centre, 1).find((c) => c !== centre) as string;
  const [nLat, nLng] = cellToLatLng(neighbour);
  const n = nLat * DEG;
  const dLng = nLng * DEG - lng;
  const axis = Math.atan2(
    Math.cos(n) * Math.sin(dLng),
    Math.cos(lat) * Math.sin(n) - Math.sin(lat) * Math.cos(n) * Math.cos(dLng),
  );
  faceSinAxis[f] = Math.sin(axis);
  faceCosAxis[f] = Math.cos(axis);
}

/** How many cells were computed here and how many were asked of h3-js (for tests and profiling). */
export const cellRes10Stats = { computed: 0, library: 0 };

/** h3-js's answer, counted. */
function library(lat: number, lng: number): string {
  cellRes10Stats.library++;
  return latLngToCell(lat, lng, 10);
}

/** Digit `d` rotated 60° counter-clockwise `n` times: ROT[n * 7 + d]. */
const ROT = new Int8Array(42);
{
  const ccw = [0, 5, 3, 1, 6, 4, 2];
  for (let d = 0; d < 7; d++) {
    let r = d;
    for (let n = 0; n < 6; n++) {
      ROT[n * 7 + d] = r;
      r = ccw[r] as number;
    }
  }
}

/**
 * Per face and res-0 position on it (face * 27 + i * 9 + j * 3 + k): base cell * 8 + rotation once learned,
 * UNKNOWN before, FALLBACK where h3-js answers every point (a pentagon's base cell).
 */
const UNKNOWN = -1;
const FALLBACK = -2;
const regions = new Int16Array(FACES * 27).fill(UNKNOWN);

/** Scratch of one computation: digits 1..10 in the face's frame, and an ijk (the res-0 one at the end). */
const digits = new Int32Array(11);
const ijk = new Int32Array(3);

/** Rounds hex2d (x, y) to the normalized ijk of its cell into `ijk` (H3's `_hex2dToCoordIJK`). */
function round(x: number, y: number): void {
  const a1 = Math.abs(x);
  const a2 = Math.abs(y);
  const x2 = a2 / SIN60;
  const x1 = a1 + x2 / 2;
  const m1 = Math.trunc(x1);
  const m2 = Math.trunc(x2);
  const r1 = x1 - m1;
  const r2 = x2 - m2;
  let i: number;
  let j: number;
  if (r1 < 0.5) {
    if (r1 < 1 / 3) {
      i = m1;
      j = r2 < (1 + r1) / 2 ? m2 : m2 + 1;
    } else {
      j = r2 < 1 - r1 ? m2 : m2 + 1;
      i = 1 - r1 <= r2 && r2 < 2 * r1 ? m1 + 1 : m1;
    }
  } else if (r1 < 2 / 3) {
    j = r2 < 1 - r1 ? m2 : m2 + 1;
    i = 2 * r1 - 1 < r2 && r2 < 1 - r1 ? m1 : m1 + 1;
  } else {
    i = m1 + 1;
    j = r2 < r1 / 2 ? m2 : m2 + 1;
  }
  if (x < 0) {
    if (j % 2 === 0) i -= 2 * (i - j / 2);
    else i -= 2 * (i - (j + 1) / 2) + 1;
  }
  if (y < 0) {
    i -= Math.trunc((2 * j + 1) / 2);
    j = -j;
  }
  normalize(i, j, 0);
}

/** Sets `ijk` to (i, j, k) normalized: no negative component and at least one zero. */
function normalize(i: number, j: number, k: number): void {
  if (i < 0) {
    j -= i;
    k -= i;
    i = 0;
  }
  if (j < 0) {
    i -= j;
    k -= j;
    j = 0;
  }
  if (k < 0) {
    i -= k;
    j -= k;
    k = 0;
  }
  const min = i < j ? Math.min(i, k) : Math.min(j, k);
  ijk[0] = i - min;
  ijk[1] = j - min;
  ijk[2] = k - min;
}

/** The digit of a unit step in axial coordinates (i - k, j - k): AXIAL_DIGIT[(a + 1) * 3 + b + 1], -1 for none. */
const AXIAL_DIGIT = Int8Array.from([1, 3, -1, 5, 0, 2, -1, 4, 6]);

/**
 * The face-frame digits of the res-10 cell at hex2d (x, y) into `digits`, its res-0 position into `ijk`; false
 * where the point is too close to a cell edge to be sure of rounding as H3 does. The aperture-7 steps of H3's
 * `_faceIjkToH3` are done on axial coordinates (i - k, j - k), which ijk normalization leaves unchanged.
 */
function faceDigits(x: number, y: number): boolean {
  round(x, y);
  let a = (ijk[0] as number) - (ijk[2] as number);
  let b = (ijk[1] as number) - (ijk[2] as number);
  // the point must lie inside the hexagon around that cell's centre (inradius 1/2), MARGIN away from its edges
  const dx = x - (a - 0.5 * b);
  const dy = y - b * SIN60;
  const edge = 0.5 - MARGIN;
  if (Math.abs(dx) > edge || Math.abs(0.5 * dx + SIN60 * dy) > edge || Math.abs(SIN60 * dy - 0.5 * dx) > edge)
    return false;
  // lround(n / 7) of an integer n (n / 7 is never a half) is floor((n + 3.5) / 7), and (n + 3.5) / 7 lies at
  // least 1/14 from an integer, far more than the error of multiplying by 1/7
  for (let r = 10; r >= 1; r--) {
    let pa: number;
    let pb: number;
    let da: number;
    let db: number;
    if (r & 1) {
      // Class III resolution: parent by _upAp7, its centre back down by _downAp7
      pa = Math.floor((3 * a - b + 3.5) * SEVENTH);
      pb = Math.floor((a + 2 * b + 3.5) * SEVENTH);
      da = a - (2 * pa + pb);
      db = b - (3 * pb - pa);
    } else {
      // Class II: _upAp7r and _downAp7r
      pa = Math.floor((2 * a + b + 3.5) * SEVENTH);
      pb = Math.floor((3 * b - a + 3.5) * SEVENTH);
      da = a - (3 * pa - pb);
      db = b - (pa + 2 * pb);
    }
    if (da < -1 || da > 1 || db < -1 || db > 1) return false;
    const digit = AXIAL_DIGIT[(da + 1) * 3 + db + 1] as number;
    if (digit < 0) return false;
    digits[r] = digit;
    a = pa;
    b = pb;
  }
  normalize(a, b, 0);
  return (ijk[0] as number) <= 2 && (ijk[1] as number) <= 2 && (ijk[2] as number) <= 2;
}

/** Learns the base cell and rotation of `region` from h3-js's answer `cell` (face-frame digits in `digits`). */
function learn(region: number, cell: string): void {
  const hi = Number.parseInt(cell.slice(0, -8), 16);
  const lo = Number.parseInt(cell.slice(-8), 16);
  const baseCell = (hi >>> 13) & 0x7f;
  if (isPentagon(cellToParent(cell, 0))) {
    regions[region] = FALLBACK;
    return;
  }
  const want = cellDigits(hi, lo);
  let found = -1;
  for (let rot = 0; rot < 6; rot++) {
    let same = true;
    for (let r = 1; r <= 10 && same; r++) same = ROT[rot * 7 + (digits[r] as number)] === want[r - 1];
    if (same) {
      // every digit 0 fits every rotation: learn from another point
      if (found >= 0) return;
      found = rot;
    }
  }
  regions[region] = found < 0 ? FALLBACK : baseCell * 8 + found;
}

/** Digits 1..10 of the res-10 cell whose index is hi:lo. */
function cellDigits(hi: number, lo: number): number[] {
  const out: number[] = [];
  for (let r = 1; r <= 10; r++) {
    const bit = (15 - r) * 3;
    out.push(bit >= 32 ? (hi >>> (bit - 32)) & 7 : bit === 30 ? ((lo >>> 30) | ((hi & 1) << 2)) & 7 : (lo >>> bit) & 7);
  }
  return out;
}

/** The H3 resolution-10 cell of (lat, lng) in degrees, as `latLngToCell(lat, lng, 10)` of h3-js gives it. */
export function cellRes10(lat: number, lng: number): string {
  const latR = (lat * Math.PI) / 180;
  const lngR = (lng * Math.PI) / 180;
  const cosLat = Math.cos(latR);
  const sinLat = Math.sin(latR);
  const cosLng = Math.cos(lngR);
  const sinLng = Math.sin(lngR);
  const px = cosLng * cosLat;
  const py = sinLng * cosLat;
  let face = 0;
  let best = 5;
  let second = 5;
  for (let f = 0; f < FACES; f++) {
    const dx = (faceX[f] as number) - px;
    const dy = (faceY[f] as number) - py;
    const dz = (faceZ[f] as number) - sinLat;
    const d = dx * dx + dy * dy + dz * dz;
    if (d < best) {
      second = best;
      best = d;
      face = f;
    } else if (d < second) second = d;
  }
  if (second - best < 1e-12 || best < NEAR_CENTRE_SQD) return library(lat, lng);
  // gnomonic distance tan(acos(c)) in res-10 units, and the azimuth from the face centre as a unit vector
  const c = 1 - best * 0.5;
  const r = (Math.sqrt((1 - c) * (1 + c)) / c) * SCALE;
  const fSinLng = faceSinLng[face] as number;
  const fCosLng = faceCosLng[face] as number;
  const north = cosLat * (sinLng * fCosLng - cosLng * fSinLng);
  const east =
    (faceCosLat[face] as number) * sinLat -
    (faceSinLat[face] as number) * cosLat * (cosLng * fCosLng + sinLng * fSinLng);
  const h = Math.sqrt(north * north + east * east);
  const cosAz = east / h;
  const sinAz = north / h;
  // theta = axis - azimuth, counter-clockwise from the grid's axis
  const sinAxis = faceSinAxis[face] as number;
  const cosAxis = faceCosAxis[face] as number;
  const x = r * (cosAxis * cosAz + sinAxis * sinAz);
  const y = r * (sinAxis * cosAz - cosAxis * sinAz);
  if (!faceDigits(x, y)) return library(lat, lng);
  const region = face * 27 + (ijk[0] as number) * 9 + (ijk[1] as number) * 3 + (ijk[2] as number);
  const known = regions[region] as number;
  if (known < 0) {
    const cell = library(lat, lng);
    if (known === UNKNOWN) learn(region, cell);
    return cell;
  }
  cellRes10Stats.computed++;
  const rot = (known & 7) * 7;
  for (let n = 1; n <= 10; n++) digits[n] = ROT[rot + (digits[n] as number)] as number;
  const d5 = digits[5] as number;
  const hi =
    (1 << 27) |
    (10 << 20) |
    ((known >> 3) << 13) |
    ((digits[1] as number) << 10) |
    ((digits[2] as number) << 7) |
    ((digits[3] as number) << 4) |
    ((digits[4] as number) << 1) |
    (d5 >> 2);
  const lo =
    ((d5 & 3) << 30) |
    ((digits[6] as number) << 27) |
    ((digits[7] as number) << 24) |
    ((digits[8] as number) << 21) |
    ((digits[9] as number) << 18) |
    ((digits[10] as number) << 15) |
    0x7fff;
  // 15 hex digits: the high word without its leading 0 (its next nibble is the mode, 8), then the low word
  if (hi !== lastHigh) {
    lastHigh = hi;
    lastHighHex = hi.toString(16);
  }
  return (
    lastHighHex +
    (BYTE_HEX[lo >>> 24] as string) +
    (BYTE_HEX[(lo >>> 16) & 255] as string) +
    (BYTE_HEX[(lo >>> 8) & 255] as string) +
    (BYTE_HEX[lo & 255] as string)
  );
}
