/**
 * The entries of a gateway's `deliver:{gateway}` stream. One entry carries many frames as field/value pairs:
 * `r <user> <epoch> <seq>` = frame text (reliable), `n <user> <epoch> <seq>` = "" (the user's head is at least
 * `seq`: read the rest from history), `v <user> <key>` = frame text (volatile, coalescing key possibly empty), and
 * `m <user> <epoch>:<seq>\n<user> <epoch>:<seq>...` = frame text without offset (one reliable frame for several
 * users, each with its own offset spliced in front of the frame's fields), and `w <user> <user>...` =
 * `<key length>:<key><frame text>` (one volatile frame for several users). User ids and gateway ids hold no
 * whitespace.
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

/**
 * The field name and value of one reliable frame (`text`, without offset) routed to several users: `users` holds
 * `<user> <epoch>:<seq>` for each.
 */
export function encodeRoutedMany(users: readonly string[], text: string): [string, string] {
  return [`m ${users.join("\n")}`, text];
}

/** The field name and value of one volatile frame with coalescing key `key` (or "") routed to several users. */
export function encodeVolatileMany(users: readonly string[], key: string, text: string): [string, string] {
  return [`w ${users.join(" ")}`, `${key.length}:${key}${text}`];
}

/** Receives the frames of one route entry in order, from {@link visitRouted}. */
export interface RoutedVisitor {
  reliable(user: string, epoch: string, seq: number, text: string): void;
  nudge(user: string, epoch: string, seq: number): void;
  volatile(user: string, key: string, text: string): void;
}

/** Decodes the flat field/value list of one route entry; malformed pairs are skipped. */
export function decodeRouted(fields: readonly string[]): RoutedFrame[] {
  const out: RoutedFrame[] = [];
  visitRouted(fields, {
    reliable: (user, epoch, seq, text) => void out.push({ kind: "reliable", user, epoch, seq, text }),
    nudge: (user, epoch, seq) => void out.push({ kind: "nudge", user, epoch, seq }),
    volatile: (user, key, text) => void out.push({ kind: "volatile", user, key, text }),
  });
  return out;
}

/**
 * Hands each frame of one route entry to `v`, in order, as {@link decodeRouted} would list them, without building a
 * frame object each; malformed pairs are skipped.
 */
export function visitRouted(fields: readonly string[], v: RoutedVisitor): void {
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i] as string;
    const value = fields[i + 1] as string;
    if (name[0] === "m" && name[1] === " ") {
      visitMany(name, value, v);
      continue;
    }
    if (name[0] === "w" && name[1] === " ") {
      const colon = value.indexOf(":");
      const end = colon + 1 + Number(value.slice(0, colon));
      if (colon < 1 || !(end <= value.length)) continue;
      const key = value.slice(colon + 1, end);
      const text = value.slice(end);
      for (const user of name.slice(2).split(" ")) if (user) v.volatile(user, key, text);
      continue;
    }
    const a = name.indexOf(" ");
    const b = name.indexOf(" ", a + 1);
    if (a !== 1 || b < 0) continue;
    const user = name.slice(2, b);
    const rest = name.slice(b + 1);
    const kind = name[0];
    if (kind === "v") {
      v.volatile(user, rest, value);
      continue;
    }
    const c = rest.indexOf(" ");
    const seq = Number(rest.slice(c + 1));
    if (c < 0 || !Number.isSafeInteger(seq)) continue;
    const epoch = rest.slice(0, c);
    if (kind === "r") v.reliable(user, epoch, seq, value);
    else if (kind === "n") v.nudge(user, epoch, seq);
  }
}

function visitMany(name: string, text: string, v: RoutedVisitor): void {
  const body = text.slice(1);
  let at = 2;
  while (at < name.length) {
    let end = name.indexOf("\n", at);
    if (end < 0) end = name.length;
    const sp = name.indexOf(" ", at);
    const colon = name.lastIndexOf(":", end);
    if (sp > at && colon > sp) {
      const seq = Number(name.slice(colon + 1, end));
      if (Number.isSafeInteger(seq)) {
        v.reliable(
          name.slice(at, sp),
          name.slice(sp + 1, colon),
          seq,
          `{"offset":"${name.slice(sp + 1, end)}",${body}`,
        );
      }
    }
    at = end + 1;
  }
}
