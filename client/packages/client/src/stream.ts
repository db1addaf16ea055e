/** Changes as an async iterable, for `for await` loops. */
import type { CascadeClient, ChangeEvent } from './client.js';
import type { ChangeEventType } from './types.js';

/** Which changes a stream yields, and when it ends. */
export interface ChangeStreamOptions {
  /** Only these namespaces. */
  namespaces?: string[];
  /** Only these event types. */
  types?: ChangeEventType[];
  /** Ends the stream when aborted. */
  signal?: AbortSignal;
}

/**
 * Yields every matching change from now on, in order, buffering while the consumer is busy.
 * The stream ends when `signal` aborts or the consumer breaks out of its loop.
 */
export function changeStream(client: CascadeClient, options: ChangeStreamOptions = {}): AsyncIterableIterator<ChangeEvent> {
  const buffer: ChangeEvent[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  const unsubscribe = client.subscribe(
    (event) => {
      buffer.push(event);
      wake?.();
    },
    { namespaces: options.namespaces, types: options.types },
  );
  const finish = () => {
    done = true;
    unsubscribe();
    wake?.();
  };
  options.signal?.addEventListener('abort', finish, { once: true });
  if (options.signal?.aborted) finish();
  const iterator: AsyncIterableIterator<ChangeEvent> = {
    async next() {
      while (buffer.length === 0 && !done) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
      const value = buffer.shift();
      return value ? { value, done: false } : { value: undefined, done: true };
    },
    async return() {
      finish();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
