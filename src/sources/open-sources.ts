import type { Registry } from "prom-client";
import type { Config } from "../config.js";
import type { CheckpointStore } from "./checkpoint-store.js";
import type { PaymentSink } from "../ingest/payment-sink.js";
import type { PolicyDirectory, PolicyEventSink } from "../ingest/policy-event-sink.js";
import type { Logger } from "../logger.js";
import type { PaymentSource } from "./payment-source.js";
import { RedisStreamSource } from "./redis-stream/redis-stream-source.js";
import { SolanaChainWatcher } from "./solana/chain-watcher.js";

export interface SourcesNeeds {
  /** The sink each source feeds, by source name. */
  sinkFor: (source: string) => PaymentSink & PolicyEventSink;
  /** Where a policy event finds the tracking ID of its policy. */
  directory: PolicyDirectory;
  checkpoints: CheckpointStore;
  logger: Logger;
  registry: Registry;
}

/** The sources the config names: the chain watcher when SOLANA_RPC_URL is set, the Redis stream when INGEST_REDIS_STREAM is. */
export function openSources(config: Config, needs: SourcesNeeds): PaymentSource[] {
  const sources: PaymentSource[] = [];
  if (config.SOLANA_RPC_URL !== undefined) {
    const sink = needs.sinkFor("solana");
    sources.push(
      new SolanaChainWatcher({
        rpcUrl: config.SOLANA_RPC_URL,
        wsUrl: config.SOLANA_WS_URL,
        programId: config.TRIBUTARY_PROGRAM_ID,
        commitment: config.SOLANA_COMMITMENT,
        startFrom: config.SOLANA_START_FROM,
        sink,
        policies: { sink, directory: needs.directory },
        checkpoints: needs.checkpoints,
        logger: needs.logger.child({ component: "source", source: "solana" }),
        registry: needs.registry,
      }),
    );
  }
  if (config.INGEST_REDIS_STREAM !== undefined && config.REDIS_URL !== undefined) {
    const sink = needs.sinkFor("redis-stream");
    sources.push(
      new RedisStreamSource({
        url: config.REDIS_URL,
        stream: config.INGEST_REDIS_STREAM,
        group: config.INGEST_REDIS_GROUP,
        consumer: config.INGEST_REDIS_CONSUMER,
        maxDeliveries: config.INGEST_REDIS_MAX_DELIVERIES,
        claimMinIdleMs: config.INGEST_REDIS_CLAIM_IDLE_MS,
        batchSize: config.INGEST_REDIS_BATCH_SIZE,
        sink,
        policies: { sink, directory: needs.directory },
        logger: needs.logger.child({ component: "source" }),
        registry: needs.registry,
      }),
    );
  }
  return sources;
}
