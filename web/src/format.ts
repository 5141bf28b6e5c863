export const EXPLORER_TX = "https://explorer.solana.com/tx/";

/** Chain time (unix seconds) as the visitor's local date and time. */
export function chainTime(seconds: number): string {
  return new Date(seconds * 1000).toLocaleString();
}

/** Long base58 strings stay recognisable by their ends. */
export function shorten(value: string, keep = 8): string {
  return value.length <= keep * 2 + 1 ? value : `${value.slice(0, keep)}…${value.slice(-keep)}`;
}

/** Tracking IDs typed into one box, separated by commas, spaces or new lines. */
export function parseTrackingIds(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter((id) => id.length > 0))];
}
