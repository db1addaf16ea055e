/**
 * `fetchBootstrap`: on a server (SSR), takes the subject's effective documents at a hub `seq`
 * for a page to embed, so the browser's client paints them at once and resumes from that
 * `seq` instead of waiting for a snapshot.
 *
 * It asks the hub exactly as a client's first connection does (`since=0`: one `snapshot` of
 * every followed namespace at the hub's `seq`, then `synced`) and closes the socket: the
 * documents and the `seq` come from one consistent read, which the HTTP reads cannot give
 * (they carry each namespace's version, not the hub's `seq`).
 */
import type { Bootstrap } from './bootstrap.js';
import { CascadeClient, type CascadeClientOptions } from './client.js';

/** Options of {@link fetchBootstrap}: those of the client that would connect, and a timeout. */
export interface FetchBootstrapOptions
  extends Pick<CascadeClientOptions, 'baseUrl' | 'tenant' | 'token' | 'namespaces' | 'WebSocket' | 'fetch' | 'openTimeoutMs' | 'backoff'> {
  /** How long to wait for the snapshot (default 10 s). */
  timeoutMs?: number;
}

/**
 * The subject's effective documents at the hub's current `seq`, for
 * `new CascadeClient({ ..., bootstrap })` in the browser. Rejects with the server's refusal
 * (`CascadeApiError`: bad token, unknown tenant, bad namespaces) or on timeout.
 */
export async function fetchBootstrap(options: FetchBootstrapOptions): Promise<Bootstrap> {
  const { timeoutMs = 10_000, ...clientOptions } = options;
  const client = new CascadeClient({ ...clientOptions, heartbeat: false });
  const offs: Array<() => void> = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no snapshot from tenant ${options.tenant} within ${timeoutMs} ms${client.lastError ? `: ${client.lastError.message}` : ''}`)),
        timeoutMs,
      );
      offs.push(client.on('synced', () => resolve()));
      offs.push(
        client.on('state', (state) => {
          if (state === 'closed') reject(client.lastError ?? new Error('the connection closed before the snapshot'));
        }),
      );
      client.connect();
    });
    const bootstrap = client.toBootstrap();
    if (!bootstrap) throw new Error(`tenant ${options.tenant}: caught up without a snapshot`);
    return bootstrap;
  } finally {
    clearTimeout(timer);
    for (const off of offs) off();
    client.close();
  }
}
