// readBodyText (webhook/admission/body.ts): the text of a body read chunk by chunk, with the
// answers fastify's own reader gives (413 over the limit, 400 on a length mismatch or a failed
// stream).
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readBodyText } from '../../../webhook/admission/body.ts';

function stream(chunks: (Buffer | string)[]): PassThrough {
  const s = new PassThrough();
  for (const c of chunks) s.write(c);
  s.end();
  return s;
}

describe('readBodyText', () => {
  it('keeps a character split across two chunks whole', async () => {
    const bytes = Buffer.from('{"name":"café ☃ 𝄞"}', 'utf8');
    // Cut inside the 4-byte 𝄞 and inside the 3-byte ☃.
    const cuts = [0, bytes.indexOf(0xe2) + 1, bytes.indexOf(0xf0) + 2, bytes.length];
    const chunks = cuts.slice(1).map((end, i) => bytes.subarray(cuts[i], end));
    const text = await readBodyText(stream(chunks), 1024, String(bytes.length));
    expect(JSON.parse(text)).toEqual({ name: 'café ☃ 𝄞' });
  });

  it('decodes invalid bytes as Buffer#toString does', async () => {
    const bytes = Buffer.from([0x22, 0xff, 0xc3, 0x22]);
    expect(await readBodyText(stream([bytes]), 1024, undefined)).toBe(bytes.toString('utf8'));
  });

  it('takes string chunks (a preParsing hook may hand them on)', async () => {
    expect(await readBodyText(stream(['{"a":', '1}']), 1024, '7')).toBe('{"a":1}');
  });

  it('refuses with 413 a body over the limit, declared or not', async () => {
    await expect(readBodyText(stream(['x'.repeat(10)]), 5, '10')).rejects.toMatchObject({ statusCode: 413 });
    await expect(readBodyText(stream(['xxx', 'xxx']), 5, undefined)).rejects.toMatchObject({
      statusCode: 413,
    });
    expect(await readBodyText(stream(['xxxxx']), 5, undefined)).toBe('xxxxx');
  });

  it('refuses with 400 a body whose length differs from its content-length', async () => {
    await expect(readBodyText(stream(['abc']), 100, '4')).rejects.toMatchObject({ statusCode: 400 });
  });

  it('answers a failed stream with 400 unless it says otherwise', async () => {
    const s = new PassThrough();
    const read = readBodyText(s, 100, undefined);
    s.destroy(new Error('aborted'));
    await expect(read).rejects.toMatchObject({ statusCode: 400, message: 'aborted' });
  });
});
