import type { JobPriority, JobProgress, JobRecord, JobState } from "@bump/contracts";

/**
 * Fields of a job hash (short names keep small hashes compact): `s` state, `p` priority, `d` data (JSON),
 * `o` owner, `a` runs started (the attempt of the active run), `m` max attempts, `g` progress (JSON), `r` result
 * (JSON), `x` last error, `c` created, `t` last started, `f` finished (ms), `e` current stream entry, `w` worker
 * that ran it last, `k` cancel requested.
 * Internal states: waiting, delayed, active, retrying (between attempts, in the delayed set), completed, failed.
 */
export type JobHash = Record<string, string>;

/** A job record with its owner, as the engine keeps it. */
export interface StoredJob {
  record: JobRecord;
  /** The user the job belongs to, if any. */
  owner?: string;
  /** The job's data. */
  data: unknown;
}

function json(v: string | undefined): unknown {
  if (v === undefined || v === "") return undefined;
  try {
    return JSON.parse(v);
  } catch {
    return undefined;
  }
}

function iso(ms: string | undefined): string | undefined {
  return ms ? new Date(Number(ms)).toISOString() : undefined;
}

/** Turns a job hash into the public record; `undefined` when the hash is empty (unknown or expired job). */
export function toStoredJob(id: string, queue: string, h: JobHash): StoredJob | undefined {
  if (!h.s) return undefined;
  const state: JobState = h.s === "retrying" ? "delayed" : (h.s as JobState);
  const record: JobRecord = {
    id,
    queue,
    state,
    priority: (h.p ?? "normal") as JobPriority,
    attempts: Number(h.a ?? 0),
    max_attempts: Number(h.m ?? 1),
    created_at: iso(h.c) as string,
  };
  const progress = json(h.g) as JobProgress | undefined;
  if (progress !== undefined) record.progress = progress;
  if (h.s === "completed") record.result = (json(h.r) ?? null) as JobRecord["result"];
  if (h.x) record.error = h.x;
  if (h.t) record.started_at = iso(h.t);
  if (h.f) record.finished_at = iso(h.f);
  return { record, data: json(h.d), ...(h.o ? { owner: h.o } : {}) };
}
