import assert from "node:assert/strict";
import { test } from "node:test";
import { TypedEmitter } from "../../src/client/typed-emitter.js";

test("TypedEmitter: on returns its remover, and a listener removing itself does not skip the next", () => {
  const emitter = new TypedEmitter<{ tick: (n: number) => void }>();
  const seen: string[] = [];
  const offFirst = emitter.on("tick", (n) => {
    seen.push(`first ${n}`);
    offFirst();
  });
  emitter.on("tick", (n) => seen.push(`second ${n}`));
  emitter.emit("tick", 1);
  emitter.emit("tick", 2);
  assert.deepEqual(seen, ["first 1", "second 1", "second 2"]);
  assert.equal(emitter.listenerCount("tick"), 1);
  emitter.removeAll();
  emitter.emit("tick", 3);
  assert.equal(seen.length, 3);
});
