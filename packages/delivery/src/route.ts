/**
 * The entries of a gateway's `deliver:{gateway}` stream. One entry carries many frames as field/value pairs:
 * `r <user> <epoch> <seq>` = frame text (reliable), `n <user> <epoch> <seq>` = "" (the user's head is at least
 * `seq`: read the rest from history), `v <user> <key>` = frame text (volatile, coalescing key possibly empty).
 */

/** One frame routed to a gateway. */
export type RoutedFrame =
  | { kind: "reliable"; user: string; epoch: string; seq: number; text: string }
  | { kind: "nudge"; user: string; epoch: string; seq: number }
  | { kind: "volatile"; user: string; key: string; text: string };

/** The field name and value of `frame` in a route entry. */
export function encodeRouted(frame: RoutedFrame): [string, string] {
  switch (frame.kind) {
    case "reliable":
      return [`r ${frame.user} ${frame.epoch} ${frame.seq}`, frame.text];
    case "nudge":
      return [`n ${frame.user} ${frame.epoch} ${frame.seq}`, ""];
    case "volatile":
      return [`v ${frame.user} ${frame.key}`, frame.text];
  }
}

/** Decodes the flat field/value list of one route entry; malformed pairs are skipped. */
export function decodeRouted(fields: readonly string[]): RoutedFrame[] {
  const out: RoutedFrame[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i] as string;
    const value = fields[i + 1] as string;
    const a = name.indexOf(" ");
    const b = name.indexOf(" ", a + 1);
    if (a !== 1 || b < 0) continue;
    const user = name.slice(2, b);
    const rest = name.slice(b + 1);
    const kind = name[0];
    if (kind === "v") {
      out.push({ kind: "volatile", user, key: rest, text: value });
      continue;
    }
    const c = rest.indexOf(" ");
    const seq = Number(rest.slice(c + 1));
    if (c < 0 || !Number.isSafeInteger(seq)) continue;
    const epoch = rest.slice(0, c);
    if (kind === "r") out.push({ kind: "reliable", user, epoch, seq, text: value });
    else if (kind === "n") out.push({ kind: "nudge", user, epoch, seq });
  }
  return out;
}
