import type { LocationInput } from "@bump/contracts";
import { cellRes10 } from "./h3-res10.ts";

/** H3 resolution of the cell stored with every fix and used as its partition key ({@link cellRes10}). */
export const CELL_RESOLUTION = 10;

/** One fix ready for the `locations` stream: its message id and the serialised `LocationEvent`. */
export interface EncodedFix {
  /** The message id: the client's `id` when given (the idempotency key), else a fresh UUID. */
  id: string;
  /** True when `id` came from the client, so the append must be idempotent on it. */
  fromClient: boolean;
  /** The `LocationEvent` as JSON, exactly what `JSON.stringify` of the event object would give. */
  payload: string;
  /** The fix's H3 resolution-10 cell (as in the payload): picks the partition streams it goes to. */
  cell: string;
}

/** A field problem that makes an otherwise valid update unrepresentable on the bus. */
export interface FieldProblem {
  path: string;
  message: string;
}

/**
 * Serialises the `locations` stream message of an update that passed the contract's input check, for `userJson`
 * (the caller's user id as a JSON string: `JSON.stringify(userId)`, computed once per request) received at
 * `receivedAt` (epoch ms). `recorded_at` defaults to the receipt time; `cell` is the H3 resolution-10 cell.
 * Returns a field problem instead when the update cannot be represented (a time before 1970).
 *
 * The JSON is written by hand, once: every string in it is a validated UUID, an H3 hex index or the JSON-encoded
 * user id, and every number is finite, so the text equals `JSON.stringify` of the event (same key order) and
 * parses as a valid `LocationEvent`.
 */
export function encodeFix(userJson: string, input: LocationInput, receivedAt: number): EncodedFix | FieldProblem {
  const recordedAt = input.recorded_at === undefined ? receivedAt : Date.parse(input.recorded_at);
  if (!(recordedAt >= 0)) return { path: "recorded_at", message: "must not be before 1970" };
  const fromClient = input.id !== undefined;
  const id = input.id ?? crypto.randomUUID();
  const { latitude, longitude, accuracy, altitude } = input;
  const cell = cellRes10(latitude, longitude);
  const payload =
    `{"id":"${id}","user_id":${userJson},"latitude":${latitude},"longitude":${longitude}` +
    (accuracy === undefined ? "" : `,"accuracy":${accuracy}`) +
    (altitude === undefined ? "" : `,"altitude":${altitude}`) +
    `,"recorded_at":${recordedAt},"received_at":${receivedAt},"cell":"${cell}"}`;
  return { id, fromClient, payload, cell };
}
