export { SolanaChainWatcher, TRIBUTARY_PROGRAM_ID, type ChainWatcherOptions, type ChainWatcherEvents } from "./chain-watcher.js";
export { decodeProgramData, type DecodedProgramData } from "../../tributary/decode-program-data.js";
export { deriveWebSocketUrl } from "./rpc-urls.js";
export { COMMITMENTS, type Commitment } from "./solana-rpc.js";
export type { ChainCheckpoint } from "./chain-checkpoint.js";
