import type { ClientFrame, LocationEvent, LocationFrame, ViewportEvent } from "@bump/contracts";
import { partitionsFor } from "@bump/geo";
import { OverloadedError, type Producer } from "@bump/streams";
import { latLngToCell } from "h3-js";
import type { Session } from "./session.ts";

/** Where inbound frames go. */
export interface InboundSinks {
  locations: Producer<LocationEvent>;
  /**
   * One producer per partition of `locations` (index = partition) when the bump-detectors run several
   * (`BUMP_PARTITIONS`); a fix then goes to every partition `partitionsFor` names, as the api does. Absent or of
   * length 1: every fix goes to {@link locations}.
   */
  locationPartitions?: readonly Producer<LocationEvent>[];
  viewports: Producer<ViewportEvent>;
}

/** What the gateway does with one valid frame of an authenticated socket (other than `auth` and `resume`). */
export async function handleFrame(
  s: Session,
  frame: Exclude<ClientFrame, { type: "auth" | "resume" }>,
  sinks: InboundSinks,
): Promise<void> {
  switch (frame.type) {
    case "ping":
      s.outbox.reliable(JSON.stringify(frame.id === undefined ? { type: "pong" } : { type: "pong", id: frame.id }));
      return;
    case "location":
      return publishLocation(s, frame, sinks);
    case "viewport":
      s.viewport = { north: frame.north, south: frame.south, east: frame.east, west: frame.west };
      return publishViewport(s, sinks);
    case "filter": {
      const { type: _, ...filter } = frame;
      s.filter = filter.kinds === undefined && filter.where === undefined ? undefined : filter;
      return publishViewport(s, sinks);
    }
  }
}

/** The `locations` message of a `location` frame received now. */
export function locationEvent(user: string, f: LocationFrame, now = Date.now()): LocationEvent {
  return {
    id: f.id ?? crypto.randomUUID(),
    user_id: user,
    latitude: f.latitude,
    longitude: f.longitude,
    ...(f.accuracy === undefined ? {} : { accuracy: f.accuracy }),
    ...(f.altitude === undefined ? {} : { altitude: f.altitude }),
    recorded_at: f.recorded_at === undefined ? now : Date.parse(f.recorded_at),
    received_at: now,
    cell: latLngToCell(f.latitude, f.longitude, 10),
  };
}

async function publishLocation(s: Session, f: LocationFrame, sinks: InboundSinks): Promise<void> {
  const event = locationEvent(s.user, f);
  try {
    const parts = sinks.locationPartitions;
    const targets =
      parts && parts.length > 1
        ? partitionsFor(event.cell, parts.length).map((p) => parts[p] as Producer<LocationEvent>)
        : [sinks.locations];
    const id = f.id;
    await Promise.all(targets.map((t) => (id === undefined ? t.add(event) : t.addOnce(id, event))));
    if (f.id !== undefined) s.outbox.reliable(JSON.stringify({ type: "ack", id: f.id }));
  } catch (err) {
    const overloaded = err instanceof OverloadedError;
    s.outbox.reliable(
      JSON.stringify({
        type: "error",
        code: overloaded ? "rate_limited" : "internal",
        message: overloaded ? "overloaded; retry later" : "location not accepted; retry",
        ...(f.id === undefined ? {} : { ref: f.id }),
      }),
    );
  }
}

/** Publishes the session's viewport and filter (`viewport: null` once the socket is gone). */
export async function publishViewport(s: Session, sinks: InboundSinks): Promise<void> {
  const event: ViewportEvent = {
    user_id: s.user,
    session_id: s.id,
    viewport: s.closed ? null : s.viewport,
    ...(s.filter === undefined ? {} : { filter: s.filter }),
    at: Date.now(),
  };
  try {
    await sinks.viewports.add(event);
  } catch {
    if (!s.closed) {
      s.outbox.reliable(JSON.stringify({ type: "error", code: "internal", message: "viewport not accepted; retry" }));
    }
  }
}
