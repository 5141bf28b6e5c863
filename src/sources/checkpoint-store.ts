/**
 * The two checkpoint methods of the store, and nothing else, so a source can
 * be tested and run without a whole store behind it.
 */
export interface CheckpointStore {
  readCheckpoint(source: string): Promise<string | undefined>;
  writeCheckpoint(source: string, value: string): Promise<void>;
}
