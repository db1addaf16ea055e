/**
 * API calls the dashboard needs beyond the SDK's typed ones (rollback, a retained version,
 * rules, the rule preview), made through `CascadeHttp.request`/`raw` so the SDK stays as it
 * is. Rule writes and previews keep the problem's `pointer` (the invalid field), which the
 * rule editor shows beside that field.
 */
import { CascadeApiError } from '@cascade/client';
import type { CascadeHttp } from '@cascade/client';
import type { ConfigDocument, JsonObject, Problem, WriteAck } from '@cascade/client';

const enc = encodeURIComponent;

/** `POST /v1/tenants/{t}/rollback/{ns}` with `{version}`: restores the namespace as it was at `version`. */
export function rollback(http: CascadeHttp, tenant: string, namespace: string, version: number): Promise<WriteAck> {
  return http.request('POST', `/v1/tenants/${enc(tenant)}/rollback/${enc(namespace)}`, { version });
}

/** `GET /v1/tenants/{t}/config/{ns}?version=N`: the tenant layer as it was at tenant seq N. */
export function configAt(http: CascadeHttp, tenant: string, namespace: string, version: number): Promise<ConfigDocument> {
  return http.request('GET', `/v1/tenants/${enc(tenant)}/config/${enc(namespace)}?version=${version}`);
}

/** A stored sync rule (`GET /v1/rules`). */
export interface StoredRule {
  id: string;
  enabled: boolean;
  rule: JsonObject;
}

/** `GET /v1/rules`: every rule, in precedence order. */
export function listRules(http: CascadeHttp): Promise<StoredRule[]> {
  return http.request('GET', '/v1/rules');
}

/** `DELETE /v1/rules/{rule}`. */
export async function deleteRule(http: CascadeHttp, id: string): Promise<void> {
  const response = await http.raw('DELETE', `/v1/rules/${enc(id)}`);
  if (!response.ok) throw await ruleProblem(response);
}

/** A refused rule: the problem, and the field it names (`pointer` `/syncDirection` → `syncDirection`). */
export class RuleError extends CascadeApiError {
  /** The body member the problem is about, when it is one field. */
  readonly field: string | undefined;

  constructor(problem: Problem & { pointer?: string }) {
    super(problem);
    this.field = problem.pointer?.replace(/^\//, '').split('/')[0] || undefined;
  }
}

async function ruleProblem(response: Response): Promise<RuleError> {
  const text = await response.text().catch(() => '');
  let body: Partial<Problem & { pointer: string }> = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // not JSON: the status and text say what there is to say
  }
  return new RuleError({
    type: body.type ?? 'about:blank',
    title: body.title ?? response.statusText,
    status: response.status,
    detail: body.detail ?? (text || `HTTP ${response.status}`),
    code: body.code ?? `HTTP:${response.status}`,
    pointer: body.pointer,
  });
}

/** `PUT /v1/rules/{rule}`: creates or replaces a rule; a refusal is a {@link RuleError}. */
export async function saveRule(http: CascadeHttp, id: string, body: JsonObject): Promise<StoredRule> {
  const response = await http.raw('PUT', `/v1/rules/${enc(id)}`, body);
  if (!response.ok) throw await ruleProblem(response);
  return (await response.json()) as StoredRule;
}

/** Which tenants a rule would reach (`POST /v1/platform/rules/preview`). */
export interface RulePreview {
  targetedTenants: number;
  tenants: string[];
  next: string | null;
  warning?: string;
}

/** Previews `body` (not saved): the tenants it reaches, the first `limit` listed. */
export async function previewRule(http: CascadeHttp, body: JsonObject, options: { namespace?: string; limit?: number } = {}): Promise<RulePreview> {
  const query = new URLSearchParams();
  if (options.namespace) query.set('namespace', options.namespace);
  if (options.limit !== undefined) query.set('limit', String(options.limit));
  const qs = query.toString();
  const response = await http.raw('POST', `/v1/platform/rules/preview${qs ? `?${qs}` : ''}`, body);
  if (!response.ok) throw await ruleProblem(response);
  return (await response.json()) as RulePreview;
}
