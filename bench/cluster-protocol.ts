/** IPC between bench/cluster-adapters.ts and its node processes (bench/cluster-node.ts). */

export type NodeCommand =
  | {
      type: "run";
      rate: number;
      seconds: number;
      trackingIds: string[];
      /** Cap on ioredis commands in flight before payments are shed; 0 sends everything. */
      maxPending: number;
    }
  | { type: "stats" }
  | { type: "stop" };

export type NodeReply =
  | { type: "ready"; port: number }
  | { type: "done"; sent: number; shed: number; maxQueue: number; elapsedMs: number }
  | { type: "stats"; received: number; queue: number; rssKb: number };
