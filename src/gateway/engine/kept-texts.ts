// Relies on no Socket.IO or Engine.IO internal: the recovery buffer's packet texts (recovery-adapter.ts).
import { FrontQueue } from "./front-queue.js";
import { NumberRing } from "./number-ring.js";

/** Texts are written into chunks of this size (a larger text gets a chunk of its own). */
const CHUNK_BYTES = 1024 * 1024;

/**
 * Texts in arrival order, dropped from the front, kept as UTF-8 in large
 * Buffers outside the JS heap. The recovery window keeps every packet's text
 * for minutes: as strings on the heap, each one lived through the scavenges
 * of its first seconds and was copied by two of them, which doubled how long
 * each scavenge paused the event loop (docs/decisions/socket-io-internals.md).
 * A chunk is freed once every text in it has been dropped.
 */
export class KeptTexts {
  private readonly chunks = new FrontQueue<Buffer>();
  /** Where each chunk starts, in bytes since the first text ever written: positions only grow. */
  private readonly chunkStarts = new NumberRing(64);
  private readonly starts = new NumberRing();
  /** Each text's length in bytes; -1 once it is released. */
  private readonly lengths = new NumberRing();
  private writeAt = 0;
  /** Where the newest chunk ends; a text that does not fit starts a new chunk there. */
  private writeEnd = 0;

  get size(): number {
    return this.starts.size;
  }

  /** Chunks held now; for tests. */
  get chunkCount(): number {
    return this.chunks.size;
  }

  push(text: string): void {
    // UTF-8 takes at most three bytes per UTF-16 unit, so most texts need no measuring first.
    const room = this.writeEnd - this.writeAt;
    const fits = this.chunks.size > 0 && (text.length * 3 <= room || Buffer.byteLength(text) <= room);
    if (!fits) this.addChunk(Math.max(CHUNK_BYTES, Buffer.byteLength(text)));
    const chunk = this.chunks.at(this.chunks.size - 1)!;
    const written = chunk.write(text, this.writeAt - this.chunkStarts.at(this.chunkStarts.size - 1)!);
    this.starts.push(this.writeAt);
    this.lengths.push(written);
    this.writeAt += written;
  }

  /** The text `index` places after the oldest, unless it was released. */
  at(index: number): string | undefined {
    const length = this.lengths.at(index);
    if (length === undefined || length < 0) return undefined;
    const start = this.starts.at(index)!;
    const chunkIndex = this.chunkStarts.firstAbove(start) - 1;
    const offset = start - this.chunkStarts.at(chunkIndex)!;
    return this.chunks.at(chunkIndex)!.toString("utf8", offset, offset + length);
  }

  /** Lets go of one text: it reads as absent, and its place stays. */
  release(index: number): void {
    this.lengths.set(index, -1);
  }

  shift(): void {
    this.starts.shift();
    this.lengths.shift();
    const oldest = this.starts.at(0) ?? this.writeAt;
    // The newest chunk stays, to be written into.
    while (this.chunks.size > 1 && this.chunkStarts.at(1)! <= oldest) {
      this.chunks.shift();
      this.chunkStarts.shift();
    }
  }

  private addChunk(bytes: number): void {
    this.chunks.push(Buffer.allocUnsafeSlow(bytes));
    this.chunkStarts.push(this.writeEnd);
    this.writeAt = this.writeEnd;
    this.writeEnd += bytes;
  }
}
