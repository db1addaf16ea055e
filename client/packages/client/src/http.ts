/** A small typed wrapper around Cascade's HTTP API (`/v1`). */
import { CascadeApiError, problemFromResponse } from './errors.js';
import { connectUrl, type ConnectQuery } from './socket.js';
import { resolveToken, type TokenSource } from './token.js';
import type {
  ConfigDocument,
  Conflict,
  ConflictResolution,
  HistoryFilter,
  HistoryPage,
  PendingChange,
  SyncAck,
  SyncAllResult,
  JsonObject,
  StatusSnapshot,
  Tenant,
  TenantInput,
  WriteAck,
} from './types.js';

/** Options of {@link CascadeHttp}. */
export interface CascadeHttpOptions {
  /** Origin of the service, e.g. `http://127.0.0.1:8787` (no trailing `/v1`). */
  baseUrl: string;
  /** The bearer token. */
  token: TokenSource;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
}

/** Options of a config write. */
export interface WriteOptions {
  /** The version the change is based on; sent as `If-Match: "v{n}"` (412 when it moved on). */
  ifVersion?: number;
  /** Makes a retry return the first answer instead of applying twice. */
  idempotencyKey?: string;
}

/** Options of a history read. */
export interface HistoryOptions extends HistoryFilter {
  limit?: number;
  /** `nextBefore` of the previous page. */
  before?: number;
}

const enc = encodeURIComponent;

/** Typed calls to every endpoint of the API; errors are thrown as {@link CascadeApiError}. */
export class CascadeHttp {
  readonly baseUrl: string;
  private readonly token: TokenSource;
  private readonly fetchImpl: typeof fetch;

  constructor(options: CascadeHttpOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** Sends a request with the bearer token and returns the raw response (any status). */
  async raw(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const token = await resolveToken(this.token);
    const all: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json', ...headers };
    if (body !== undefined) all['content-type'] = 'application/json';
    return this.fetchImpl(`${this.baseUrl}${path}`, {
      method,
      headers: all,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  /** Sends a request and parses the JSON answer; throws {@link CascadeApiError} when not 2xx. */
  async request<T>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    const response = await this.raw(method, path, body, headers);
    if (!response.ok) throw await problemFromResponse(response);
    return (await response.json()) as T;
  }

  /** `GET /v1/health`: true when the service answers. */
  async health(): Promise<boolean> {
    const response = await this.fetchImpl(`${this.baseUrl}/v1/health`);
    return response.ok;
  }

  /** `GET /v1/tenants` (platform admins). */
  listTenants(): Promise<Tenant[]> {
    return this.request('GET', '/v1/tenants');
  }

  /** `GET /v1/tenants/{tenant}`. */
  getTenant(tenant: string): Promise<Tenant> {
    return this.request('GET', `/v1/tenants/${enc(tenant)}`);
  }

  /** `PUT /v1/tenants/{tenant}`: registers or updates a tenant. */
  putTenant(tenant: string, input: TenantInput): Promise<Tenant> {
    return this.request('PUT', `/v1/tenants/${enc(tenant)}`, input);
  }

  /**
   * The effective config of a namespace: the tenant's
   * (`GET /v1/tenants/{tenant}/effective/{namespace}`), or one user's
   * (`GET /v1/tenants/{tenant}/users/{user}/effective/{namespace}`). Change frames patch this.
   * With `{ origins: true }` the document says where each value came from (`origins`).
   */
  getEffective(tenant: string, namespace: string, user?: string, options: { origins?: boolean } = {}): Promise<ConfigDocument> {
    const subject = user === undefined ? '' : `/users/${enc(user)}`;
    const query = options.origins ? '?origins=true' : '';
    return this.request('GET', `/v1/tenants/${enc(tenant)}${subject}/effective/${enc(namespace)}${query}`);
  }

  /** `GET /v1/tenants/{tenant}/config/{namespace}`: the tenant layer and its version. */
  getConfig(tenant: string, namespace: string): Promise<ConfigDocument> {
    return this.request('GET', `/v1/tenants/${enc(tenant)}/config/${enc(namespace)}`);
  }

  /** `PUT /v1/tenants/{tenant}/config/{namespace}`: replaces the tenant layer. */
  putConfig(tenant: string, namespace: string, config: JsonObject, options: WriteOptions = {}): Promise<WriteAck> {
    return this.request('PUT', `/v1/tenants/${enc(tenant)}/config/${enc(namespace)}`, config, writeHeaders(options));
  }

  /** `GET /v1/tenants/{tenant}/users/{user}/config/{namespace}`: one user's own layer. */
  getUserConfig(tenant: string, user: string, namespace: string): Promise<ConfigDocument> {
    return this.request('GET', `/v1/tenants/${enc(tenant)}/users/${enc(user)}/config/${enc(namespace)}`);
  }

  /** `PUT /v1/tenants/{tenant}/users/{user}/config/{namespace}`: replaces one user's own layer. */
  putUserConfig(tenant: string, user: string, namespace: string, config: JsonObject, options: WriteOptions = {}): Promise<WriteAck> {
    return this.request('PUT', `/v1/tenants/${enc(tenant)}/users/${enc(user)}/config/${enc(namespace)}`, config, writeHeaders(options));
  }

  /** `GET /v1/platform/config/{namespace}` (platform admins). */
  getPlatformConfig(namespace: string): Promise<ConfigDocument> {
    return this.request('GET', `/v1/platform/config/${enc(namespace)}`);
  }

  /** `PUT /v1/platform/config/{namespace}` (platform admins). */
  putPlatformConfig(namespace: string, config: JsonObject, options: WriteOptions = {}): Promise<WriteAck> {
    return this.request('PUT', `/v1/platform/config/${enc(namespace)}`, config, writeHeaders(options));
  }


  /** `GET /v1/tenants/{tenant}/history`: newest first. */
  history(tenant: string, options: HistoryOptions = {}): Promise<HistoryPage> {
    const query = new URLSearchParams();
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.before !== undefined) query.set('before', String(options.before));
    for (const key of ['namespace', 'scope', 'outcome', 'since', 'until'] as const) {
      const value = options[key];
      if (value !== undefined && value !== '') query.set(key, String(value));
    }
    const qs = query.toString();
    return this.request('GET', `/v1/tenants/${enc(tenant)}/history${qs ? `?${qs}` : ''}`);
  }

  /** `POST /v1/tenants/{tenant}/sync`: applies every platform update the tenant lacks. */
  syncTenant(tenant: string): Promise<SyncAck> {
    return this.request('POST', `/v1/tenants/${enc(tenant)}/sync`);
  }

  /**
   * `POST /v1/sync` (platform admins): syncs every tenant; per-tenant results and totals.
   * The server syncs a page of tenants per request and names the next page in `next`; this
   * follows the pages to the end and merges them (`next` is then null).
   */
  async syncAll(): Promise<SyncAllResult> {
    const all: SyncAllResult = {
      tenants: [],
      totals: { tenants: 0, synced: 0, failed: 0, applied: 0 },
      next: null,
    };
    let after: string | null = null;
    do {
      const path: string = after === null ? '/v1/sync' : `/v1/sync?after=${enc(after)}`;
      const page: SyncAllResult = await this.request<SyncAllResult>('POST', path);
      all.tenants.push(...page.tenants);
      all.totals.tenants += page.totals.tenants;
      all.totals.synced += page.totals.synced;
      all.totals.failed += page.totals.failed;
      all.totals.applied += page.totals.applied;
      after = page.next ?? null;
    } while (after !== null);
    return all;
  }

  /** `GET /v1/tenants/{tenant}/pending`: platform changes waiting for a decision. */
  listPending(tenant: string): Promise<PendingChange[]> {
    return this.request('GET', `/v1/tenants/${enc(tenant)}/pending`);
  }

  /** `POST /v1/tenants/{tenant}/pending/{namespace}/{id}/accept` or `/reject`. */
  decidePending(tenant: string, namespace: string, id: string, decision: 'accept' | 'reject'): Promise<WriteAck> {
    return this.request('POST', `/v1/tenants/${enc(tenant)}/pending/${enc(namespace)}/${enc(id)}/${decision}`);
  }

  /** `GET /v1/tenants/{tenant}/conflicts`: open merge conflicts. */
  listConflicts(tenant: string): Promise<Conflict[]> {
    return this.request('GET', `/v1/tenants/${enc(tenant)}/conflicts`);
  }

  /** `POST /v1/tenants/{tenant}/conflicts/{namespace}/{id}/resolve`. */
  resolveConflict(tenant: string, namespace: string, id: string, resolution: ConflictResolution): Promise<WriteAck> {
    return this.request('POST', `/v1/tenants/${enc(tenant)}/conflicts/${enc(namespace)}/${enc(id)}/resolve`, resolution);
  }

  /** `PUT /v1/rules/{rule}` (platform admins): creates or replaces a sync rule. */
  putRule(rule: string, body: JsonObject): Promise<unknown> {
    return this.request('PUT', `/v1/rules/${enc(rule)}`, body);
  }

  /** `GET /v1/status`: the latest health snapshot, or null before the first check ran. */
  async status(): Promise<StatusSnapshot | null> {
    try {
      return await this.request<StatusSnapshot>('GET', '/v1/status');
    } catch (error) {
      if (error instanceof CascadeApiError && error.code === 'CASCADE:Health:NoSnapshot') return null;
      throw error;
    }
  }

  /**
   * Asks whether a WebSocket to `tenant` with `query` would be accepted, without upgrading:
   * resolves when the credentials and the query are fine (the server answers 426), throws
   * the {@link CascadeApiError} it refused with otherwise (401, 403, 404, 400
   * `CASCADE:Connect:BadQuery`, ...).
   */
  async probeConnect(tenant: string, query: ConnectQuery = {}): Promise<void> {
    const url = new URL(connectUrl(this.baseUrl, tenant, query, 'http'));
    const response = await this.raw('GET', `${url.pathname}${url.search}`);
    if (response.status === 426 || response.ok) {
      await response.body?.cancel();
      return;
    }
    throw await problemFromResponse(response);
  }
}

function writeHeaders(options: WriteOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  if (options.ifVersion !== undefined) headers['if-match'] = `"v${options.ifVersion}"`;
  if (options.idempotencyKey !== undefined) headers['idempotency-key'] = options.idempotencyKey;
  return headers;
}
