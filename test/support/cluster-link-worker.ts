/**
 * One worker process of the worker cluster link's contract run: a Socket.IO
 * server on the real worker link, driven by the test (the primary) over IPC.
 */
import { Server } from "socket.io";
import { createWorkerClusterLink } from "../../src/cluster/worker-cluster-link.js";
import { createLogger } from "../../src/logger.js";
import type { StoredPayment } from "../../src/payment.js";

export type ContractCommand =
  | { type: "contract:publish"; payments: StoredPayment[] }
  | { type: "contract:status"; requestId: number }
  | { type: "contract:close" };

export type ContractReport =
  | { type: "contract:ready" }
  | { type: "contract:delivered"; payment: StoredPayment }
  | { type: "contract:status"; requestId: number; status: unknown }
  | { type: "contract:published" };

const send = (report: ContractReport) => process.send?.(report);
const link = createWorkerClusterLink({ logger: createLogger("silent"), isConnected: () => process.connected });
const io = new Server({ adapter: link.adapter });
link.attach(io, { fromOtherNodes: (payment) => send({ type: "contract:delivered", payment }), resync: () => undefined });

process.on("message", (message: ContractCommand) => {
  if (message.type === "contract:publish") {
    for (const payment of message.payments) link.publish(payment);
    send({ type: "contract:published" });
  } else if (message.type === "contract:status") {
    send({ type: "contract:status", requestId: message.requestId, status: link.status() });
  } else if (message.type === "contract:close") {
    void link.close().then(() => process.exit(0));
  }
});
send({ type: "contract:ready" });
