/**
 * The HTTP API, signed: one method per call the commands need. Maps every failure to a
 * `CliError` with one clear line: unreachable API, API Gateway's own 403s, problem documents.
 */
import type {
  Ami,
  AmiListResponse,
  BuildLogsResponse,
  BuildResponse,
  BuildSpec,
  CleanupDryRunResponse,
  CleanupResponse,
  DeleteAmiResponse,
  LatestAmiResponse,
  PostBuildResponse,
  Problem,
  RestoreAmiResponse,
  StartCleanupResponse,
  StartValidationResponse,
  ValidationResponse,
} from '../../functions/lib/api-types';
import { parseJsonObject } from '../../functions/lib/json';
import type { AwsCredentials, FetchLike } from '../deps';
import { CliError } from '../errors';
import type { Printer } from '../printer';
import { reasonForCode } from './network';
import { signHeaders } from './signer';

export interface ApiClientOptions {
  baseUrl: string;
  region: string;
  credentials: AwsCredentials;
  fetch: FetchLike;
  printer: Printer;
  timeoutMs: number;
  now: () => number;
  /** What to say when the API refuses the request's region (an API deployed in another region). */
  regionMismatch?: () => string;
  signal?: AbortSignal;
}

/** An error answer of the API, with its problem document when it sent one. */
export class ApiError extends CliError {
  override name = 'ApiError';
  constructor(
    message: string,
    readonly status: number,
    problem: Record<string, unknown>,
    /** True when the body was a problem document of the API itself (not a gateway or proxy answer). */
    readonly isProblem = false,
  ) {
    super(message, problem);
  }
}

/** Pages followed at most by `listAll`: a guard against an API that never stops paging. */
const MAX_PAGES = 10_000;

export class ApiClient {
  constructor(private readonly options: ApiClientOptions) {}

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  /** Every AMI, newest first, following `nextToken` to the end. */
  async listAll(): Promise<Ami[]> {
    const items: Ami[] = [];
    const seen = new Set<string>();
    let nextToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const body = await this.request<AmiListResponse>('GET', '/amis', nextToken ? { nextToken } : {});
      items.push(...body.items);
      nextToken = body.nextToken;
      if (!nextToken) return items;
      if (seen.has(nextToken))
        throw new CliError('The API returned the same nextToken twice while listing AMIs');
      seen.add(nextToken);
    }
    throw new CliError(`The API kept paging after ${MAX_PAGES} pages while listing AMIs`);
  }

  latest(options: { includeUnvalidated?: boolean } = {}): Promise<LatestAmiResponse> {
    return this.request<LatestAmiResponse>(
      'GET',
      '/amis/latest',
      options.includeUnvalidated ? { validated: 'false' } : {},
    );
  }

  delete(imageId: string, options: { keepSnapshots: boolean; dryRun: boolean }): Promise<DeleteAmiResponse> {
    return this.request<DeleteAmiResponse>('DELETE', `/amis/${encodeURIComponent(imageId)}`, {
      keepSnapshots: String(options.keepSnapshots),
      dryRun: String(options.dryRun),
    });
  }

  ami(imageId: string): Promise<Ami> {
    return this.request<Ami>('GET', `/amis/${encodeURIComponent(imageId)}`);
  }

  startValidation(imageId: string, request: { instanceType: string }): Promise<StartValidationResponse> {
    return this.request<StartValidationResponse>(
      'POST',
      `/amis/${encodeURIComponent(imageId)}/validations`,
      {},
      { body: request },
    );
  }

  validation(validationId: string): Promise<ValidationResponse> {
    return this.request<ValidationResponse>('GET', `/validations/${encodeURIComponent(validationId)}`);
  }

  /** `POST /builds`: started (202), already built or a dry run's plan (200). */
  startBuild(
    request: Partial<BuildSpec> & { version: string; dryRun?: boolean },
    idempotencyKey?: string,
  ): Promise<PostBuildResponse> {
    return this.request<PostBuildResponse>(
      'POST',
      '/builds',
      {},
      {
        body: request,
        ...(idempotencyKey ? { headers: { 'idempotency-key': idempotencyKey } } : {}),
      },
    );
  }

  build(buildId: string): Promise<BuildResponse> {
    return this.request<BuildResponse>('GET', `/builds/${encodeURIComponent(buildId)}`);
  }

  buildLogs(buildId: string, nextToken?: string): Promise<BuildLogsResponse> {
    return this.request<BuildLogsResponse>(
      'GET',
      `/builds/${encodeURIComponent(buildId)}/logs`,
      nextToken ? { nextToken } : {},
    );
  }

  /** `POST /cleanups` without apply: the plan (the API only reads). */
  cleanupPlan(keep?: number): Promise<CleanupDryRunResponse> {
    return this.request<CleanupDryRunResponse>(
      'POST',
      '/cleanups',
      {},
      { body: { ...(keep !== undefined ? { keep } : {}), apply: false } },
    );
  }

  /** `POST /cleanups` with apply: CleanupAmis started (202). */
  startCleanup(keep: number | undefined, idempotencyKey: string): Promise<StartCleanupResponse> {
    return this.request<StartCleanupResponse>(
      'POST',
      '/cleanups',
      {},
      {
        body: { ...(keep !== undefined ? { keep } : {}), apply: true },
        headers: { 'idempotency-key': idempotencyKey },
      },
    );
  }

  cleanup(cleanupId: string): Promise<CleanupResponse> {
    return this.request<CleanupResponse>('GET', `/cleanups/${encodeURIComponent(cleanupId)}`);
  }

  restore(imageId: string): Promise<RestoreAmiResponse> {
    return this.request<RestoreAmiResponse>('POST', `/amis/${encodeURIComponent(imageId)}/restore`);
  }

  async request<T>(
    method: string,
    path: string,
    query: Record<string, string> = {},
    options: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<T> {
    const { printer, fetch, timeoutMs, now } = this.options;
    const url = new URL(`${this.options.baseUrl}${path}`);
    for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers = await signHeaders({
      method,
      url,
      region: this.options.region,
      credentials: this.options.credentials,
      headers: {
        accept: 'application/json, application/problem+json',
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
      ...(body !== undefined ? { body } : {}),
    });
    const signals = [AbortSignal.timeout(timeoutMs), ...(this.options.signal ? [this.options.signal] : [])];
    const started = now();
    let response: Response;
    let text: string;
    try {
      [response, text] = await printer.waitFor(
        (async () => {
          const answer = await fetch(url.toString(), {
            method,
            headers,
            signal: AbortSignal.any(signals),
            ...(body !== undefined ? { body } : {}),
          });
          return [answer, await answer.text()] as const;
        })(),
        'Waiting for the pulsar-ami API...',
      );
    } catch (error) {
      printer.debug(
        `${method} ${url} → failed after ${now() - started} ms: ${describeFetchError(error, timeoutMs, url)}`,
      );
      if (this.options.signal?.aborted) throw error;
      throw new CliError(
        `Cannot reach the pulsar-ami API at ${this.options.baseUrl}: ${describeFetchError(error, timeoutMs, url)}`,
        { title: 'API unreachable', apiUrl: this.options.baseUrl },
        { cause: error },
      );
    }
    const requestId = response.headers.get('x-amzn-requestid') ?? '-';
    printer.debug(
      `${method} ${url} → ${response.status} in ${now() - started} ms (x-amzn-RequestId ${requestId})`,
    );
    if (response.ok) {
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new CliError(
          `The API answered ${response.status} with a body that is not JSON: ${snippet(text)}`,
          {
            requestId,
          },
        );
      }
    }
    const error = toApiError(response, text, requestId);
    if (this.options.regionMismatch && isRegionRefused(error)) {
      const detail = this.options.regionMismatch();
      throw new ApiError(detail, error.status, {
        ...error.problem,
        title: 'API in another region',
        detail,
        region: this.options.region,
        apiUrl: this.options.baseUrl,
      });
    }
    throw error;
  }
}

/** API Gateway's 403 for a signature scoped to a region it does not serve. */
function isRegionRefused(error: ApiError): boolean {
  const detail = error.problem.detail;
  return (
    error.status === 403 &&
    !error.isProblem &&
    typeof detail === 'string' &&
    /Credential should be scoped to a valid region/i.test(detail)
  );
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat || '(empty)';
}

function toApiError(response: Response, text: string, requestId: string): ApiError {
  const status = response.status;
  const body = parseJsonObject(text);
  const contentType = response.headers.get('content-type') ?? '';
  const retryAfter = retryAfterSeconds(response.headers.get('retry-after'));
  if (body && (contentType.includes('problem+json') || typeof body.title === 'string')) {
    const problem = body as Partial<Problem>;
    const detail = problem.detail ?? problem.title ?? `status ${status}`;
    // A 429 always says when to come back, whatever the detail says.
    const message =
      status === 429 && retryAfter !== undefined && !detail.includes(`${retryAfter} s`)
        ? `${detail} (retry after ${retryAfter} s)`
        : detail;
    return new ApiError(
      message,
      status,
      { ...body, status, requestId, ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}) },
      true,
    );
  }
  const gatewayType = response.headers.get('x-amzn-errortype')?.split(':')[0];
  if (status === 429) {
    // API Gateway's own throttling (the stage's rate and burst limits).
    const when = retryAfter !== undefined ? `in ${retryAfter} s` : 'in a moment';
    return new ApiError(`The API is throttling requests (429 Too Many Requests); try again ${when}`, status, {
      title: 'Too many requests',
      status,
      detail: typeof body?.message === 'string' ? body.message : 'Too Many Requests',
      ...(gatewayType ? { awsError: gatewayType } : {}),
      ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}),
      requestId,
    });
  }
  const message =
    typeof body?.message === 'string'
      ? body.message
      : typeof body?.Message === 'string'
        ? body.Message
        : undefined;
  if (status === 403 || gatewayType) {
    return new ApiError(
      `The API refused the request (${status}${gatewayType ? ` ${gatewayType}` : ''}): ${message ?? snippet(text)}`,
      status,
      {
        title: 'Request refused',
        status,
        detail: message ?? snippet(text),
        awsError: gatewayType,
        requestId,
      },
    );
  }
  const detail = message ?? snippet(text);
  return new ApiError(
    `The API answered ${status} ${response.statusText}: ${detail}`.replace(/ +:/, ':'),
    status,
    {
      title: 'API error',
      status,
      detail,
      requestId,
    },
  );
}

/** `Retry-After` in seconds (a number of seconds, or an HTTP date), or undefined. */
function retryAfterSeconds(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** ECONNREFUSED, DNS failure, timeout, a port fetch blocks… in a few words. */
export function describeFetchError(error: unknown, timeoutMs: number, url?: URL): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return `no answer within ${timeoutMs} ms (timed out)`;
  // fetch (undici) refuses the ports browsers block (the "bad ports": 9, 25, 6000…) without connecting.
  if (e?.cause?.message === 'bad port') {
    const port = url?.port || (url?.protocol === 'https:' ? '443' : '80');
    return `Node refuses to connect to port ${port} (a port browsers and fetch block)`;
  }
  const code = e?.cause?.code;
  if (code) return reasonForCode(code, e.cause?.message);
  return e?.cause?.message ?? e?.message ?? String(error);
}
