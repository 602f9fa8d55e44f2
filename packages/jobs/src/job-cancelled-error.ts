/**
 * A job was cancelled ({@link Queue.cancel}) while it ran: its signal was aborted with this reason and the job
 * fails for good with error `cancelled`, without a retry.
 */
export class JobCancelledError extends Error {
  override readonly name = "JobCancelledError";
  constructor(readonly jobId: string) {
    super("cancelled");
  }
}
