/**
 * Where the processor's volatile frames go. `deliver` sends one frame text to every user in `users`; frames
 * passed to one sink are delivered to each user in call order. Best effort: volatile frames may be lost, so
 * clients converge through later changes and snapshots. `coalesceKey` lets a slow socket keep only the latest
 * frame of one key.
 */
export interface EntitySink {
  deliver(users: readonly string[], frame: string, coalesceKey: string): Promise<void>;
}
