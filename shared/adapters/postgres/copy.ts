/**
 * COPY for partial aggregates: the bulk backfill's write path. Rows are encoded straight from the
 * builders into chunks of COPY data (no object per row) and streamed with postgres.js's writable
 * COPY under backpressure. Binary COPY is the default: PostgreSQL then parses no floats, timestamps
 * or hex, and ingests about twice the rows per second of text COPY on the same rows (bench:backfill).
 *
 * COPY cannot merge: the caller writes only rows whose key is not stored yet (it holds the nodes'
 * locks and has read the stored keys), and merges the others with `mergePartials`-style upserts.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { CopyFormat, CopySketch, CopyTarget } from '../../cycle/backfill/store.ts';
import type { PartialAggregate } from '../../domain/aggregate.ts';
import type { TransactionSql } from './client.ts';
import { type PartitionManager, partitionBounds, type TimeSeriesTable } from './partitions.ts';

const COLUMNS =
  'node_id, metric, bucket, count, sum, m2, min, max, first_ts, first, last_ts, last, sketch, seen';
const FIELDS = 14;
/** PostgreSQL timestamps count microseconds from 2000-01-01T00:00:00Z. */
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const CHUNK_BYTES = 1 << 20;
/** The first chunk is small and each next one twice the last, up to CHUNK_BYTES (a chunk COPYs one day partition at a time: a year's backfill has 365). */
const FIRST_CHUNK_BYTES = 1 << 16;

/**
 * Full-size chunks PostgreSQL has taken (the COPY stream's write callback ran), for the next chunks
 * to reuse. postgres.js (patched: patches/postgres+3.4.9.patch) hands each chunk to the socket as it
 * is, behind its 5-byte CopyData header in the same writev, and the callback runs once the socket
 * has written it, so a written chunk is free: without the reuse a backfill allocated a fresh 1 MiB
 * buffer per MiB of COPY data, and those buffers (memory outside V8's heap) set off most of its full
 * garbage collections. Unpatched, postgres.js also copied every chunk into a new message buffer
 * (Buffer.concat): about 0.15 µs of the process's CPU per reading in bench:backfill.
 */
const spareChunks: Uint8Array[] = [];
const MAX_SPARE_CHUNKS = 8;
/** Full-size chunks taken from the spares instead of allocated (for tests and studies). */
export const copyChunkStats = { reused: 0 };

/** Gives a chunk `copyPartials` has written back for reuse (only a whole full-size chunk is kept). */
function recycleChunk(chunk: Uint8Array): void {
  if (chunk.buffer.byteLength !== CHUNK_BYTES || spareChunks.length >= MAX_SPARE_CHUNKS) return;
  if (!spareChunks.some((c) => c.buffer === chunk.buffer)) spareChunks.push(new Uint8Array(chunk.buffer));
}

/** The fields of one partial row (a PartialRow, or a builder being read). */
export type CopyPartial = Omit<PartialAggregate, 'sketch' | 'seen'>;

/**
 * COPY data for one table, in chunks: `add` rows, take the finished chunks with `drain` while
 * adding (to stream as you go), and `end` once for the rest and the trailer.
 */
export class PartialCopyEncoder {
  readonly format: CopyFormat;
  rows = 0;
  private chunk: Uint8Array;
  private view: DataView;
  private at = 0;
  private nextBytes = FIRST_CHUNK_BYTES * 2;
  private ready: Uint8Array[] = [];
  private nodeId = '';
  private nodeBytes: Uint8Array = new Uint8Array(0);

  constructor(format: CopyFormat = 'binary') {
    this.format = format;
    this.chunk = new Uint8Array(FIRST_CHUNK_BYTES);
    this.view = new DataView(this.chunk.buffer);
    if (format === 'binary') {
      this.chunk.set(SIGNATURE, 0);
      this.view.setInt32(11, 0); // flags
      this.view.setInt32(15, 0); // header extension length
      this.at = 19;
    }
  }

  add(
    nodeId: string,
    metric: number,
    bucketMs: number,
    p: CopyPartial,
    sketch: CopySketch,
    seen: Uint8Array | null,
  ) {
    this.rows += 1;
    if (this.format === 'text') {
      this.addText(nodeId, metric, bucketMs, p, sketch, seen);
      return;
    }
    if (nodeId !== this.nodeId) {
      this.nodeId = nodeId;
      this.nodeBytes = Buffer.from(nodeId, 'utf8');
    }
    const sketchBytes = sketch instanceof Uint8Array ? sketch.length : sketch.byteLength();
    const size =
      2 + 4 * FIELDS + this.nodeBytes.length + 2 + 4 + 3 * 8 + 8 * 8 + sketchBytes + (seen?.length ?? 0);
    this.reserve(size);
    const v = this.view;
    let o = this.at;
    v.setInt16(o, FIELDS);
    o += 2;
    o = this.bytes(o, this.nodeBytes);
    v.setInt32(o, 2);
    v.setInt16(o + 4, metric);
    o += 6;
    o = this.timestamp(o, bucketMs);
    v.setInt32(o, 4);
    v.setInt32(o + 4, p.count);
    o += 8;
    o = this.float(o, p.sum);
    o = this.float(o, p.m2);
    o = this.float(o, p.min);
    o = this.float(o, p.max);
    o = this.timestamp(o, p.firstTs);
    o = this.float(o, p.first);
    o = this.timestamp(o, p.lastTs);
    o = this.float(o, p.last);
    if (sketch instanceof Uint8Array) o = this.bytes(o, sketch);
    else {
      v.setInt32(o, sketchBytes);
      o = sketch.writeTo(v, o + 4);
    }
    if (seen) o = this.bytes(o, seen);
    else {
      v.setInt32(o, -1);
      o += 4;
    }
    this.at = o;
  }

  /** The chunks completed so far (they leave the encoder). */
  drain(): Uint8Array[] {
    const out = this.ready;
    this.ready = [];
    return out;
  }

  /** Everything not drained yet, with the trailer: the encoder is done. */
  end(): Uint8Array[] {
    if (this.format === 'binary') {
      this.reserve(2);
      this.view.setInt16(this.at, -1);
      this.at += 2;
    }
    if (this.at > 0) this.ready.push(this.chunk.subarray(0, this.at));
    this.at = 0;
    return this.drain();
  }

  private reserve(size: number): void {
    if (this.at + size <= this.chunk.length) return;
    if (this.at > 0) this.ready.push(this.chunk.subarray(0, this.at));
    const bytes = Math.max(this.nextBytes, size);
    const spare = bytes === CHUNK_BYTES ? spareChunks.pop() : undefined;
    if (spare) copyChunkStats.reused += 1;
    this.chunk = spare ?? new Uint8Array(bytes);
    this.nextBytes = Math.min(CHUNK_BYTES, this.nextBytes * 2);
    this.view = new DataView(this.chunk.buffer);
    this.at = 0;
  }

  private bytes(o: number, b: Uint8Array): number {
    this.view.setInt32(o, b.length);
    this.chunk.set(b, o + 4);
    return o + 4 + b.length;
  }

  private float(o: number, x: number): number {
    this.view.setInt32(o, 8);
    this.view.setFloat64(o + 4, x);
    return o + 12;
  }

  private timestamp(o: number, ms: number): number {
    const us = Math.round((ms - PG_EPOCH_MS) * 1000);
    const high = Math.floor(us / 4294967296);
    this.view.setInt32(o, 8);
    this.view.setInt32(o + 4, high);
    this.view.setUint32(o + 8, us - high * 4294967296);
    return o + 12;
  }

  private addText(
    nodeId: string,
    metric: number,
    bucketMs: number,
    p: CopyPartial,
    sketch: CopySketch,
    seen: Uint8Array | null,
  ): void {
    if (!(sketch instanceof Uint8Array)) sketch = encodeSketchOf(sketch);
    const iso = (ms: number) => new Date(ms).toISOString();
    const hex = (b: Uint8Array) =>
      `\\\\x${Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')}`;
    const escaped = nodeId.replace(
      /[\\\t\n\r]/g,
      (c) => `\\${c === '\t' ? 't' : c === '\n' ? 'n' : c === '\r' ? 'r' : '\\'}`,
    );
    const line = `${escaped}\t${metric}\t${iso(bucketMs)}\t${p.count}\t${p.sum}\t${p.m2}\t${p.min}\t${p.max}\t${iso(p.firstTs)}\t${p.first}\t${iso(p.lastTs)}\t${p.last}\t${hex(sketch)}\t${seen ? hex(seen) : '\\N'}\n`;
    const bytes = Buffer.from(line, 'utf8');
    this.reserve(bytes.length);
    this.chunk.set(bytes, this.at);
    this.at += bytes.length;
  }
}

/**
 * Where COPY writes a table's rows of `bucketMs`: the native partition itself (routing every row
 * through the partitioned parent cost ~8 % of PostgreSQL's CPU per row in bench:backfill's
 * measurement, binary COPY of 5-minute partials), or the table where it is a hypertable (Timescale).
 */
export function copyTarget(
  partitions: Pick<PartitionManager, 'timescale'>,
  table: TimeSeriesTable,
  bucketMs: number,
): CopyTarget {
  if (partitions.timescale) {
    return { name: table, fromMs: Number.NEGATIVE_INFINITY, toMs: Number.POSITIVE_INFINITY };
  }
  const bounds = partitionBounds(table, bucketMs);
  return { name: bounds.name, fromMs: bounds.from.getTime(), toMs: bounds.to.getTime() };
}

function encodeSketchOf(sketch: Exclude<CopySketch, Uint8Array>): Uint8Array {
  const out = new Uint8Array(sketch.byteLength());
  sketch.writeTo(new DataView(out.buffer), 0);
  return out;
}

/**
 * Streams COPY data into `table` inside the caller's transaction. `chunks` may be produced lazily
 * (a generator that aggregates as PostgreSQL asks for more): the stream's backpressure paces it.
 * Chunks are reused by the encoders once written: pass chunks nothing else holds on to.
 */
export async function copyPartials(
  tx: TransactionSql,
  table: TimeSeriesTable | string,
  chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
  format: CopyFormat = 'binary',
): Promise<void> {
  const stream = await tx.unsafe(copyStatement(table, 'stdin', format)).writable();
  await writeAll(stream, chunks);
}

/**
 * Writes every chunk under the stream's backpressure, recycling each once written, and waits until
 * PostgreSQL has taken the whole COPY. A failure (of the chunks' producer too) destroys the stream,
 * which aborts the COPY.
 */
async function writeAll(stream: Writable, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>) {
  // Settles when the COPY is done, or as soon as the stream fails or closes early (awaited below;
  // the catch only keeps an early failure from counting as unhandled while a write waits).
  const done = finished(stream);
  done.catch(() => {});
  try {
    for await (const chunk of chunks) {
      if (chunk.length === 0) continue;
      if (!stream.write(chunk, (err) => err || recycleChunk(chunk))) {
        await Promise.race([once(stream, 'drain'), done]);
      }
    }
    stream.end();
    await done;
  } catch (err) {
    stream.destroy(err as Error);
    throw err;
  }
}

/**
 * The COPY statement of a partial table, from standard input (the wire protocol) or from PGlite's
 * in-process `/dev/blob` (the embedded database: COPY FROM STDIN does not pass through pglite-socket).
 */
export function copyStatement(
  table: TimeSeriesTable | string,
  from: 'stdin' | '/dev/blob',
  format: CopyFormat,
): string {
  const options = format === 'binary' ? ' with (format binary)' : '';
  return `copy ${table} (${COLUMNS}) from ${from === 'stdin' ? 'stdin' : "'/dev/blob'"}${options}`;
}
