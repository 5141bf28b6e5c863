export { createPaymentClient, DEFAULT_PATH, type PaymentClient, type PaymentClientOptions } from "./payment-client.js";
export { OffsetTracker, type Sequenced } from "./offset-tracker.js";
export { toWirePayment } from "./payment-message.js";
export type {
  ClientError,
  ClientErrorCode,
  ConnectionState,
  DeliveryInfo,
  Payment,
  PaymentClientEvents,
  PaymentHandler,
  PaymentStatus,
  PolicyChange,
  PolicyHandler,
  PolicyStatus,
  SubscribeOptions,
  SubscribedInfo,
  WirePayment,
} from "./types.js";
