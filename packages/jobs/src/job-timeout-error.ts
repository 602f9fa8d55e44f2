/** A job ran past its queue's `timeoutMs`; its signal was aborted and the attempt counts as failed. */
export class JobTimeoutError extends Error {
  override readonly name = "JobTimeoutError";
  constructor(
    readonly jobId: string,
    readonly timeoutMs: number,
  ) {
    super(`job ${jobId} timed out after ${timeoutMs} ms`);
  }
}
