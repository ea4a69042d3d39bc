import { copyLines, CopyFormatError } from './copy-lines.util';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/** Binary COPY data of one text column, as PostgreSQL sends it. */
function copyData(values: string[], extension = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(extension.length, 4);
  const rows = values.map((value) => {
    const bytes = Buffer.from(value, 'utf8');
    const frame = Buffer.alloc(6);
    frame.writeInt16BE(1, 0);
    frame.writeInt32BE(bytes.length, 2);
    return Buffer.concat([frame, bytes]);
  });
  return Buffer.concat([SIGNATURE, header, extension, ...rows, Buffer.from([0xff, 0xff])]);
}

async function* chunks(data: Buffer, size: number): AsyncGenerator<Buffer> {
  // Copies, as the connection hands each chunk over once.
  for (let at = 0; at < data.length; at += size) yield Buffer.from(data.subarray(at, at + size));
}

async function read(source: AsyncIterable<Buffer>): Promise<{ text: string; rows: number }> {
  let rows = 0;
  const out: Buffer[] = [];
  for await (const chunk of copyLines(source, (n) => (rows += n))) out.push(Buffer.from(chunk));
  return { text: Buffer.concat(out).toString('utf8'), rows };
}

describe('copyLines', () => {
  const values = ['["a","ünïcødé 😀"]', '[null,"x"]', '["' + 'long'.repeat(5000) + '"]', '[]'];

  it.each([1, 3, 7, 64, 65536])('turns rows split across chunks of %i bytes into one line each', async (size) => {
    const { text, rows } = await read(chunks(copyData(values, Buffer.from('ext')), size));
    expect(text).toBe(values.map((v) => `${v}\n`).join(''));
    expect(rows).toBe(values.length);
  });

  it('yields nothing for a table without rows', async () => {
    expect(await read(chunks(copyData([]), 5))).toEqual({ text: '', rows: 0 });
  });

  it('rejects data that is not binary COPY, or that ends before its trailer', async () => {
    await expect(read(chunks(Buffer.from('["a"]\n["b"]\n["c"]\n["d"]\n'), 64))).rejects.toThrow(CopyFormatError);
    const whole = copyData(values);
    await expect(read(chunks(whole.subarray(0, whole.length - 2), 64))).rejects.toThrow('without its trailer');
  });

  it('rejects rows of more than one field and NULL rows', async () => {
    const twoFields = copyData(['x']);
    twoFields.writeInt16BE(2, 19);
    await expect(read(chunks(twoFields, 64))).rejects.toThrow('2 fields');
    const nullRow = copyData(['x']);
    nullRow.writeInt32BE(-1, 21);
    await expect(read(chunks(nullRow.subarray(0, 25), 64))).rejects.toThrow('NULL');
  });
});
