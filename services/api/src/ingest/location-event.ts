import type { LocationEvent, LocationInput } from "@bump/contracts";
import { latLngToCell } from "h3-js";

/** H3 resolution of the cell stored with every fix and used as its partition key. */
export const CELL_RESOLUTION = 10;

/**
 * Builds the `locations` stream message of a validated update from `userId`, received at `receivedAt` (epoch ms).
 * `id` is the client's id when given (the idempotency key), else a fresh UUID; `recorded_at` defaults to the
 * receipt time. Returns a field problem instead when the update cannot be represented (a time before 1970).
 */
export function toLocationEvent(
  userId: string,
  input: LocationInput,
  receivedAt: number,
): LocationEvent | { path: string; message: string } {
  const recordedAt = input.recorded_at === undefined ? receivedAt : Date.parse(input.recorded_at);
  if (!(recordedAt >= 0)) return { path: "recorded_at", message: "must not be before 1970" };
  const event: LocationEvent = {
    id: input.id ?? crypto.randomUUID(),
    user_id: userId,
    latitude: input.latitude,
    longitude: input.longitude,
    recorded_at: recordedAt,
    received_at: receivedAt,
    cell: latLngToCell(input.latitude, input.longitude, CELL_RESOLUTION),
  };
  if (input.accuracy !== undefined) event.accuracy = input.accuracy;
  if (input.altitude !== undefined) event.altitude = input.altitude;
  return event;
}
