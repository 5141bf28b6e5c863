import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { KeptTexts } from "../../src/gateway/engine/kept-texts.js";
import { NumberRing } from "../../src/gateway/engine/number-ring.js";

type RingStep = { push: number } | { shift: true } | { set: [number, number] };

test("a number ring reads, sets and drops as an array does, across growth and wrap-around", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.record({ push: fc.double({ noNaN: true }) }),
          fc.constant({ shift: true as const }),
          fc.record({ set: fc.tuple(fc.nat(40), fc.integer()) }),
        ),
        { maxLength: 300 },
      ),
      (steps: RingStep[]) => {
        const ring = new NumberRing(2);
        const model: number[] = [];
        for (const step of steps) {
          if ("push" in step) {
            ring.push(step.push);
            model.push(step.push);
          } else if ("shift" in step) {
            ring.shift();
            model.shift();
          } else if (step.set[0] < model.length) {
            ring.set(step.set[0], step.set[1]);
            model[step.set[0]] = step.set[1];
          } else assert.throws(() => ring.set(step.set[0], step.set[1]), RangeError);
          assert.equal(ring.size, model.length);
        }
        assert.deepEqual(
          Array.from({ length: ring.size }, (_, i) => ring.at(i)),
          model,
        );
        assert.equal(ring.at(model.length), undefined);
        assert.equal(ring.at(-1), undefined);
      },
    ),
  );
});

test("a number ring in increasing order finds the first number above a value", () => {
  const ring = new NumberRing(2);
  for (const value of [3, 5, 5, 9]) ring.push(value);
  ring.shift();
  assert.deepEqual(
    [0, 5, 6, 9, 10].map((value) => ring.firstAbove(value)),
    [0, 2, 2, 3, 3],
  );
});

type TextStep = { push: string } | { shift: true } | { release: number };

test("kept texts read back as written, across chunks, with any characters, until released or dropped", () => {
  const characters = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: "binary", maxLength: 40 }), fc.constant("x".repeat(300_000)));
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(fc.record({ push: characters }), fc.constant({ shift: true as const }), fc.record({ release: fc.nat(30) })),
        { maxLength: 60 },
      ),
      (steps: TextStep[]) => {
        const texts = new KeptTexts();
        const model: Array<string | undefined> = [];
        for (const step of steps) {
          if ("push" in step) {
            texts.push(step.push);
            model.push(step.push);
          } else if ("shift" in step) {
            texts.shift();
            model.shift();
          } else if (step.release < model.length) {
            texts.release(step.release);
            model[step.release] = undefined;
          }
        }
        assert.equal(texts.size, model.length);
        assert.deepEqual(
          Array.from({ length: texts.size }, (_, i) => texts.at(i)),
          model,
        );
      },
    ),
    { numRuns: 200 },
  );
});

test("a chunk of kept texts is freed once every text in it is dropped, and a text larger than a chunk gets its own", () => {
  const texts = new KeptTexts();
  const text = "é".repeat(100_000); // 200,000 bytes of UTF-8: five to a 1 MiB chunk
  for (let i = 0; i < 12; i++) texts.push(text);
  assert.equal(texts.chunkCount, 3);
  for (let i = 0; i < 5; i++) texts.shift();
  assert.equal(texts.chunkCount, 2, "the first chunk's five texts are gone, and so is the chunk");
  texts.push("x".repeat(3 * 1024 * 1024));
  assert.equal(texts.chunkCount, 3);
  assert.equal(texts.at(7)!.length, 3 * 1024 * 1024);
  for (let i = 0; i < 7; i++) texts.shift();
  assert.equal(texts.chunkCount, 1, "only the chunk written into last stays");
  assert.equal(texts.at(0)!.length, 3 * 1024 * 1024);
  texts.shift();
  assert.equal(texts.size, 0);
  assert.equal(texts.chunkCount, 1);
  texts.push("after");
  assert.equal(texts.at(0), "after");
});
