import assert from "node:assert/strict";
import { once } from "node:events";
import { test } from "node:test";
import { Worker } from "node:worker_threads";
import { cpuPercent, sampleProcess } from "../../bench/proc-stats.js";

/** Spins until this process has used `ms` more CPU, on whichever thread runs it. */
function spin(ms: number): void {
  const start = process.cpuUsage();
  for (;;) {
    const used = process.cpuUsage(start);
    if ((used.user + used.system) / 1000 >= ms) return;
  }
}

test("a process's CPU is split into its main thread's and the rest: a worker thread's spin counts only in the whole", async () => {
  const start = sampleProcess(process.pid);
  spin(300);
  const afterMain = sampleProcess(process.pid);
  // Ticks are 10 ms; most of the 300 ms spent here is the main thread's.
  assert.ok(afterMain.mainThreadCpuMs - start.mainThreadCpuMs >= 200, `main thread ${afterMain.mainThreadCpuMs - start.mainThreadCpuMs} ms`);
  assert.ok(afterMain.mainThreadCpuMs <= afterMain.cpuMs);

  const worker = new Worker(`${spin.toString()}; spin(300); require("node:worker_threads").parentPort.postMessage("done");`, { eval: true });
  await once(worker, "message");
  await worker.terminate();
  const afterWorker = sampleProcess(process.pid);
  const whole = afterWorker.cpuMs - afterMain.cpuMs;
  const main = afterWorker.mainThreadCpuMs - afterMain.mainThreadCpuMs;
  assert.ok(whole >= 200, `whole process ${whole} ms`);
  assert.ok(main < whole / 2, `main thread ${main} ms of ${whole} while a worker spun`);
  assert.ok(cpuPercent(afterMain, afterWorker, true) < cpuPercent(afterMain, afterWorker));
});
