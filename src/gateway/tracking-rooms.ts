/**
 * Tracking-ID rooms carry a prefix so that a tracking ID can never name a
 * socket's own private room (Socket.IO puts every socket in a room named by
 * its id).
 */
export function roomOf(trackingId: string): string {
  return `t:${trackingId}`;
}

export function isTrackingRoom(room: string): boolean {
  return room.startsWith("t:");
}

/** The tracking ID a tracking room is named for. */
export function trackingIdOf(room: string): string {
  return room.slice(2);
}
