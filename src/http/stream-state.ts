/**
 * Node's checks of a stream's state, for web streams too (node:stream `isDisturbed`, `isErrored`;
 * documented, though @types/node leaves out `isDisturbed` and web streams).
 */
import * as streams from 'node:stream';

const checks = streams as unknown as {
  isDisturbed(stream: unknown): boolean;
  isErrored(stream: unknown): boolean;
};

/** Whether anything has been read from `stream` (or it was cancelled). */
export function isDisturbed(stream: ReadableStream | streams.Readable): boolean {
  return checks.isDisturbed(stream);
}

/** Whether `stream` has errored. */
export function isErrored(stream: ReadableStream | streams.Readable): boolean {
  return checks.isErrored(stream);
}
