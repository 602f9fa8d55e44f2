import type { EntityFilter, Viewport } from "@bump/contracts";
import type { Outbox } from "./outbox.ts";
import type { TokenBucket } from "./token-bucket.ts";

/**
 * One authenticated socket. `epoch`/`last` is the offset of the last reliable frame this socket got (`epoch`
 * `null`: the user had no history when the socket started); reliable frames are written only in sequence order.
 */
export interface Session {
  readonly id: string;
  readonly user: string;
  readonly outbox: Outbox;
  readonly bucket: TokenBucket;
  /** Refused frames in a row. */
  strikes: number;
  epoch: string | null;
  last: number;
  /** True while history is being read for this socket; live reliable frames wait for it. */
  filling: boolean;
  /** Highest sequence announced while filling (re-read after), or a head seen behind by the last check. */
  hint: number;
  suspect: number | null;
  closed: boolean;
  viewport: Viewport | null;
  filter: EntityFilter | undefined;
}
