/** The text of whatever was thrown, for a source's status detail and logs. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
