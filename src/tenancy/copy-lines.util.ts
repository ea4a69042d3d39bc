// Reads `COPY (SELECT <one text column>) TO STDOUT (FORMAT binary)` as newline-terminated UTF-8 lines, Buffer to
// Buffer. The export streams rows this way rather than through pg's row parser: a string per row kept the old
// generation filling with promoted garbage until V8's next full GC (+100 MB over 1M rows); Buffers are freed by
// the young-generation GC. The binary format frames each value by its length, so no escaping is undone.

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
/** Signature, flags (int32), header extension length (int32). */
const HEADER_BYTES = SIGNATURE.length + 8;
const NEWLINE = 0x0a;

export class CopyFormatError extends Error {}

/**
 * The value of every row of `source`, followed by "\n". The value must itself contain no newline (JSON text).
 * `onRows` gets the number of rows in each chunk yielded.
 */
export async function* copyLines(source: AsyncIterable<Buffer>, onRows: (rows: number) => void): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  // Bytes from the start of the pending data before another row (or the header) can be read.
  let needed = HEADER_BYTES;
  let headerRead = false;
  let ended = false;
  for await (const chunk of source) {
    if (ended) throw new CopyFormatError('COPY data continues after its trailer');
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes < needed) continue;
    const data = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes);
    let at = 0;
    if (!headerRead) {
      if (!data.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw new CopyFormatError('Not binary COPY data');
      needed = HEADER_BYTES + data.readUInt32BE(SIGNATURE.length + 4);
      if (data.length < needed) {
        [pending, pendingBytes] = [[data], data.length];
        continue;
      }
      at = needed;
      headerRead = true;
    }
    // The lines are compacted in place (no buffer allocated per chunk): a row's line is 5 bytes shorter than the
    // row, so a line never overwrites bytes not yet read.
    let size = 0;
    let rows = 0;
    needed = 2;
    while (at + 2 <= data.length) {
      const fields = data.readInt16BE(at);
      if (fields === -1) {
        ended = true;
        at += 2;
        break;
      }
      if (fields !== 1) throw new CopyFormatError(`A COPY row has ${fields} fields, expected 1`);
      if (at + 6 > data.length) {
        needed = 6;
        break;
      }
      const length = data.readInt32BE(at + 2);
      if (length < 0) throw new CopyFormatError('A COPY row is NULL');
      if (at + 6 + length > data.length) {
        needed = 6 + length;
        break;
      }
      data.copy(data, size, at + 6, at + 6 + length);
      size += length;
      data[size++] = NEWLINE;
      at += 6 + length;
      rows++;
    }
    // Copied, so the chunk is not kept alive by the few bytes of the next row.
    const rest = at < data.length ? Buffer.from(data.subarray(at)) : undefined;
    [pending, pendingBytes] = rest ? [[rest], rest.length] : [[], 0];
    if (ended && rest) throw new CopyFormatError('COPY data continues after its trailer');
    if (rows > 0) {
      onRows(rows);
      yield data.subarray(0, size);
    }
  }
  if (!ended) throw new CopyFormatError('COPY data ended without its trailer');
}
