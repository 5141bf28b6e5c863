import assert from "node:assert/strict";
import { test } from "node:test";
import type { Writable } from "node:stream";
import * as ws from "ws";
import { FrameReader, encodeClientFrame } from "../../bench/eio-client.js";

/** The framing halves `ws` exports at run time but its type definitions leave out. */
interface WsFraming {
  Sender: {
    frame(data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[];
  };
  Receiver: new (options: { isServer: boolean }) => Writable;
}
const { Sender, Receiver } = ws as unknown as WsFraming;

/** A server frame as `ws` writes it (unmasked, FIN set). */
function serverFrame(text: string): Buffer {
  return Buffer.concat(Sender.frame(Buffer.from(text), { fin: true, opcode: 0x1, mask: false, readOnly: true, rsv1: false }));
}

const TEXTS = ["40", "x".repeat(125), "é".repeat(200), "y".repeat(70_000)];

test("the bench client's frame reader reads ws server frames of every length class, however the stream is cut", () => {
  const stream = Buffer.concat(TEXTS.map(serverFrame));
  for (const cut of [1, 2, 3, 7, 126, 1000, stream.length]) {
    const reader = new FrameReader();
    const read: string[] = [];
    for (let at = 0; at < stream.length; at += cut) {
      for (const frame of reader.push(stream.subarray(at, at + cut))) {
        assert.equal(frame.opcode, 0x1);
        read.push(frame.payload.toString("utf8"));
      }
    }
    assert.deepEqual(read, TEXTS, `chunks of ${cut} bytes`);
  }
});

test("the frame reader refuses masked and fragmented frames instead of misreading them", () => {
  const masked = Buffer.concat(Sender.frame(Buffer.from("hi"), { fin: true, opcode: 0x1, mask: true, readOnly: true, rsv1: false }));
  assert.throws(() => new FrameReader().push(masked), /masked/);
  const unfinished = Buffer.concat(Sender.frame(Buffer.from("hi"), { fin: false, opcode: 0x1, mask: false, readOnly: true, rsv1: false }));
  assert.throws(() => new FrameReader().push(unfinished), /fragmented/);
});

test("the bench client's frames are read by a ws server's receiver as the text sent", async () => {
  const receiver = new Receiver({ isServer: true });
  const messages: string[] = [];
  receiver.on("message", (data: Buffer, isBinary: boolean) => {
    assert.equal(isBinary, false);
    messages.push(data.toString("utf8"));
  });
  const errors: Error[] = [];
  receiver.on("error", (error: Error) => errors.push(error));
  for (const text of TEXTS) receiver.write(encodeClientFrame(0x1, Buffer.from(text)));
  await new Promise<void>((resolve) => receiver.end(resolve));
  assert.deepEqual(errors, []);
  assert.deepEqual(messages, TEXTS);
});
