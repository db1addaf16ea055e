/** Typed errors of the Cascade client. */
import type { Problem } from './types.js';

/** An HTTP answer that was not a success, carrying the server's problem document. */
export class CascadeApiError extends Error {
  /** HTTP status. */
  readonly status: number;
  /** Stable error code, e.g. `CASCADE:Config:VersionMismatch`. */
  readonly code: string;
  /** Short title of the problem. */
  readonly title: string;
  /** Human-readable explanation. */
  readonly detail: string;
  /** Seconds to wait before retrying (429). */
  readonly retryAfter: number | undefined;

  constructor(problem: Problem) {
    super(`${problem.status} ${problem.code}: ${problem.detail}`);
    this.name = 'CascadeApiError';
    this.status = problem.status;
    this.code = problem.code;
    this.title = problem.title;
    this.detail = problem.detail;
    this.retryAfter = problem.retryAfter;
  }

  /** True for 412: the document moved on since the version given in `If-Match`. */
  get isConflict(): boolean {
    return this.status === 412;
  }

  /** True for 401 and 403: retrying with the same token will not help. */
  get isAuth(): boolean {
    return this.status === 401 || this.status === 403;
  }
}

/** An error frame sent by the server over the WebSocket. */
export class CascadeFrameError extends Error {
  /** Stable error code, e.g. `CASCADE:Frame:Unsupported`. */
  readonly code: string;

  constructor(code: string, message: string) {
    super(`${code}: ${message}`);
    this.name = 'CascadeFrameError';
    this.code = code;
  }
}

/** Turns a non-success response into a {@link CascadeApiError}, also when its body is not problem+json. */
export async function problemFromResponse(response: Response): Promise<CascadeApiError> {
  const text = await response.text().catch(() => '');
  let body: Partial<Problem> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') body = parsed as Partial<Problem>;
  } catch {
    // not JSON: keep the text as detail
  }
  const retryHeader = response.headers.get('retry-after');
  return new CascadeApiError({
    type: body.type ?? 'about:blank',
    title: body.title ?? response.statusText,
    status: typeof body.status === 'number' ? body.status : response.status,
    detail: body.detail ?? (text || response.statusText),
    code: body.code ?? `HTTP:${response.status}`,
    retryAfter: body.retryAfter ?? (retryHeader ? Number(retryHeader) : undefined),
  });
}
