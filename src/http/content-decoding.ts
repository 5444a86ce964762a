/**
 * Content codings of a fetch response (`Content-Encoding`), decoded with node:zlib as undici's
 * fetch decodes them: gzip / x-gzip, deflate (zlib-wrapped or raw, told apart by the first byte),
 * br, zstd (where Node has it); codings undone last first; an unknown coding leaves the body as it
 * came; more than five codings is refused.
 */
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';

/** The most content codings a response may list (undici's fetch: a decompression-bomb guard). */
export const MAX_CONTENT_ENCODINGS = 5;

// As undici's fetch (and cURL): lenient with bodies cut short, as browsers are.
const ZLIB: zlib.ZlibOptions = {
  flush: zlib.constants.Z_SYNC_FLUSH,
  finishFlush: zlib.constants.Z_SYNC_FLUSH,
};
const BROTLI: zlib.BrotliOptions = {
  flush: zlib.constants.BROTLI_OPERATION_FLUSH,
  finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH,
};

/**
 * `deflate`: servers send either a zlib stream (RFC 1950, as the coding says) or raw deflate
 * (RFC 1951, a common mistake). A zlib stream's first byte has 8 (deflate) in its low nibble.
 */
class Inflate extends Transform {
  #inner: zlib.Inflate | zlib.InflateRaw | null = null;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let inner = this.#inner;
    if (inner === null) {
      if (chunk.length === 0) {
        callback();
        return;
      }
      inner = ((chunk[0] as number) & 0x0f) === 0x08 ? zlib.createInflate(ZLIB) : zlib.createInflateRaw(ZLIB);
      inner.on('data', (data: Buffer) => this.push(data));
      inner.on('error', (err) => this.destroy(err));
      this.#inner = inner;
    }
    inner.write(chunk, callback);
  }

  override _final(callback: TransformCallback): void {
    const inner = this.#inner;
    if (inner === null) {
      callback();
      return;
    }
    // The readable side ends (Transform's own end) once the inflater has flushed all it holds.
    inner.once('end', () => callback());
    inner.end();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.#inner?.destroy();
    this.#inner = null;
    callback(err);
  }
}

function decoderFor(coding: string): Transform | undefined {
  if (coding === 'gzip' || coding === 'x-gzip') return zlib.createGunzip(ZLIB);
  if (coding === 'deflate') return new Inflate();
  if (coding === 'br') return zlib.createBrotliDecompress(BROTLI);
  if (coding === 'zstd' && typeof zlib.createZstdDecompress === 'function') {
    return zlib.createZstdDecompress({
      flush: zlib.constants.ZSTD_e_continue,
      finishFlush: zlib.constants.ZSTD_e_end,
      // RFC 9659: a window of at most 8 MiB.
      params: { [zlib.constants.ZSTD_d_windowLogMax]: 23 },
    });
  }
  return undefined;
}

/**
 * The decoders for a `Content-Encoding` value (`null`: none), in the order the body goes through
 * them; none when a coding is unknown; past {@link MAX_CONTENT_ENCODINGS}, the number of codings.
 */
export function decodersFor(contentEncoding: string | null): Transform[] | number {
  if (contentEncoding === null || contentEncoding === '') return [];
  const codings = contentEncoding.toLowerCase().split(',');
  if (codings.length > MAX_CONTENT_ENCODINGS) return codings.length;
  const decoders: Transform[] = [];
  for (let i = codings.length - 1; i >= 0; --i) {
    const decoder = decoderFor((codings[i] as string).trim());
    if (decoder === undefined) {
      for (const d of decoders) d.destroy();
      return [];
    }
    decoders.push(decoder);
  }
  return decoders;
}
