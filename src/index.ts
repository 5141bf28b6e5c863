export { createApp, type App, type AppDependencies } from "./app.js";
export { loadConfig, ConfigError, type Config } from "./config.js";
export { ERRORS, ServiceError, type ErrorCode } from "./errors.js";
export type { AckEnvelope, ErrorEnvelope, PaymentEnvelope, PaymentNotificationData } from "./protocol/envelopes.js";
export { SOCKET_PATH, type SubscriptionResponse } from "./gateway/payment-gateway.js";
export type { PaymentInput, PaymentStatus, StoredPayment } from "./payment.js";
export type { PaymentStore } from "./store/payment-store.js";
export type { PaymentSink } from "./ingest/payment-sink.js";
export type { PaymentSource, SourceStatus } from "./sources/payment-source.js";
