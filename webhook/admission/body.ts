// Reading a request body as text, chunk by chunk, with fastify's limits and answers.
//
// fastify's own `parseAs: 'string'` keeps the chunks, concatenates them into one Buffer and
// decodes that: for a ~200 KB pod, a 200 KB copy and a large allocation on every review, which
// the admission profile showed (issue 16: about 5% of the CPU per review, and a longer tail).
// Here each chunk (a TLS record, ≤ 16 KB) is decoded as it arrives and the text is kept as a
// rope of the pieces, which JSON.parse flattens once.
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/** An error fastify's error handler answers with its statusCode (413, 400). */
export interface BodyError extends Error {
  statusCode: number;
}

function bodyError(statusCode: number, message: string): BodyError {
  const e = new Error(message) as BodyError;
  e.statusCode = statusCode;
  return e;
}

/**
 * The body as UTF-8 text (a character split across two chunks stays whole; invalid bytes
 * become U+FFFD, as Buffer#toString does). Refuses, as fastify's own reader does: with 413 a
 * body over `limit` bytes (from its content-length at once, else as soon as it passes), with 400
 * a body whose length differs from its content-length, or a stream that fails.
 */
export function readBodyText(
  payload: Readable,
  limit: number,
  contentLength: string | undefined,
): Promise<string> {
  const declared = contentLength === undefined ? Number.NaN : Number(contentLength);
  if (declared > limit) return Promise.reject(bodyError(413, 'Request body is too large'));
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder('utf8');
    let text = '';
    let received = 0;
    const stop = () => {
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onError);
    };
    function onData(chunk: Buffer | string) {
      // A preParsing hook may hand strings on.
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      received += bytes.length;
      if (received > limit) {
        stop();
        reject(bodyError(413, 'Request body is too large'));
        return;
      }
      text += decoder.write(bytes);
    }
    function onEnd() {
      stop();
      if (!Number.isNaN(declared) && received !== declared) {
        reject(bodyError(400, 'Request body size did not match Content-Length'));
        return;
      }
      resolve(text + decoder.end());
    }
    function onError(err: Error & { statusCode?: number }) {
      stop();
      if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400;
      reject(err);
    }
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
    payload.resume();
  });
}
