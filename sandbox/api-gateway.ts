/**
 * The project's HTTP API as API Gateway (REST, v1) would serve it: routes from serverless.yml,
 * SigV4 (`execute-api`) checked against the local credentials for `aws_iam` routes, a Lambda
 * proxy event and context for the handler, imported in-process, and its answer sent back.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import type { CallLog } from './calls';
import { SANDBOX_ACCESS_KEY_ID, SANDBOX_CALLER_ARN, SANDBOX_USER_ID } from './credentials';
import { callHandler, type LambdaHandler, LambdaRuntime } from './lambda';
import type { ServerlessApp } from './serverless-config';
import type { SandboxInfo } from './services';
import { verifySigV4 } from './sigv4';

export interface ApiRoute {
  functionKey: string;
  /** `{service}-{stage}-{functionKey}`, as serverless names the Lambda. */
  functionName: string;
  /** Absolute path of the handler's module, with its extension. */
  modulePath: string;
  exportName: string;
  /** Upper case, or `ANY`. */
  method: string;
  /** `/amis/{id}` */
  resource: string;
  segments: string[];
  timeoutSeconds: number;
  memorySize: number;
  authorizer: string | null;
}

export interface ServerlessApi {
  serviceName: string;
  routes: ApiRoute[];
}

/** The API Gateway view of the application: one route per `http` event. */
export function apiOf(app: ServerlessApp): ServerlessApi {
  const routes = app.functions.flatMap((fn) =>
    fn.http.map((event): ApiRoute => {
      const resource = `/${event.path.replace(/^\/+|\/+$/g, '')}`;
      return {
        functionKey: fn.functionKey,
        functionName: fn.functionName,
        modulePath: fn.modulePath,
        exportName: fn.exportName,
        method: event.method,
        resource,
        segments: resource.split('/').filter(Boolean),
        timeoutSeconds: fn.timeoutSeconds,
        memorySize: fn.memorySize,
        authorizer: event.authorizer,
      };
    }),
  );
  return { serviceName: app.serviceName, routes };
}

export interface RouteMatch {
  route: ApiRoute;
  pathParameters: Record<string, string>;
}

function matchSegments(route: ApiRoute, segments: string[]): Record<string, string> | null {
  const params: Record<string, string> = {};
  for (let i = 0; i < route.segments.length; i++) {
    const pattern = route.segments[i] ?? '';
    const greedy = /^\{(\w+)\+\}$/.exec(pattern);
    if (greedy?.[1] !== undefined) {
      if (i >= segments.length) return null;
      params[greedy[1]] = segments.slice(i).join('/');
      return params;
    }
    const segment = segments[i];
    if (segment === undefined) return null;
    const param = /^\{(\w+)\}$/.exec(pattern);
    if (param?.[1] !== undefined) params[param[1]] = segment;
    else if (pattern !== segment) return null;
  }
  return route.segments.length === segments.length ? params : null;
}

/** Literal segments win over `{param}`, which win over `{proxy+}`, position by position. */
function specificity(route: ApiRoute): number[] {
  return route.segments.map((s) => (/^\{\w+\+\}$/.test(s) ? 0 : /^\{\w+\}$/.test(s) ? 1 : 2));
}

function moreSpecific(a: ApiRoute, b: ApiRoute): number {
  const sa = specificity(a);
  const sb = specificity(b);
  for (let i = 0; i < Math.max(sa.length, sb.length); i++) {
    const diff = (sb[i] ?? -1) - (sa[i] ?? -1);
    if (diff !== 0) return diff;
  }
  return 0;
}

/**
 * The route for a path (split into segments) and method, as API Gateway picks it: the most
 * specific resource that matches the path, then that resource's method (or ANY). `null` when
 * nothing matches, including a known path with another method (API Gateway answers both 403).
 */
export function matchRoute(
  routes: readonly ApiRoute[],
  method: string,
  segments: string[],
): RouteMatch | null {
  const candidates = routes
    .map((route) => ({ route, params: matchSegments(route, segments) }))
    .filter((c): c is { route: ApiRoute; params: Record<string, string> } => c.params !== null)
    .sort((a, b) => moreSpecific(a.route, b.route));
  const best = candidates[0];
  if (!best) return null;
  const sameResource = candidates.filter((c) => c.route.resource === best.route.resource);
  const chosen =
    sameResource.find((c) => c.route.method === method) ?? sameResource.find((c) => c.route.method === 'ANY');
  return chosen ? { route: chosen.route, pathParameters: chosen.params } : null;
}

export interface ApiRequest {
  method: string;
  /** Path and query as sent. */
  url: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  sourceIp: string;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

const API_ID = 'sandboxapi';

function gatewayError(status: number, message: string, errorType?: string): ApiResponse {
  const requestId = randomUUID();
  return {
    status,
    headers: {
      'content-type': 'application/json',
      'x-amzn-RequestId': requestId,
      ...(errorType ? { 'x-amzn-ErrorType': errorType } : {}),
    },
    body: Buffer.from(JSON.stringify({ message })),
  };
}

const missingToken = () =>
  gatewayError(403, 'Missing Authentication Token', 'MissingAuthenticationTokenException');

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export class ApiGateway {
  private api: ServerlessApi | null = null;
  private readonly lambda: LambdaRuntime;

  constructor(
    private readonly serverlessYml: string,
    private readonly info: SandboxInfo,
    private readonly accountId: string,
    private readonly calls: CallLog,
    private readonly log: (line: string) => void,
    /** Handlers and their environment (sandbox/lambda.ts), shared with Step Functions and EventBridge. */
    lambda?: LambdaRuntime,
  ) {
    this.lambda = lambda ?? new LambdaRuntime(serverlessYml, info, accountId, log);
  }

  /** Loaded on first use, so the sandbox starts even before serverless.yml exists. */
  private config(): ServerlessApi {
    if (!this.api) this.api = apiOf(this.lambda.config());
    return this.api;
  }

  serviceName(): string | null {
    try {
      return this.config().serviceName;
    } catch {
      return null;
    }
  }

  private handlerFor(route: ApiRoute): Promise<LambdaHandler> {
    return this.lambda.handler(route.modulePath, route.exportName);
  }

  async handle(request: ApiRequest): Promise<ApiResponse> {
    const url = new URL(request.url, 'http://sandbox');
    let segments = url.pathname.split('/').filter(Boolean).map(safeDecode);
    let api: ServerlessApi;
    try {
      api = this.config();
    } catch (error) {
      this.log(`api: cannot load ${this.serverlessYml}: ${(error as Error).message}`);
      return missingToken();
    }
    // The stage may lead the path, as in API Gateway's own URLs (…/dev/amis).
    if (segments[0] === this.info.stage && !matchRoute(api.routes, request.method, segments)) {
      segments = segments.slice(1);
    }
    const match = matchRoute(api.routes, request.method, segments);
    if (!match) return missingToken();
    const { route } = match;

    if (route.authorizer === 'aws_iam') {
      const query: Record<string, string | string[]> = {};
      for (const [key, value] of url.searchParams) {
        const existing = query[key];
        query[key] =
          existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
      }
      const auth = await verifySigV4({
        method: request.method,
        path: url.pathname,
        query,
        headers: request.headers,
        body: request.body,
      });
      if (!auth.ok) {
        if (auth.reason === 'missing') return missingToken();
        if (auth.reason === 'unknown-key') {
          return gatewayError(
            403,
            'The security token included in the request is invalid.',
            'UnrecognizedClientException',
          );
        }
        if (auth.reason === 'malformed') {
          return gatewayError(
            403,
            "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=" +
              (request.headers.authorization ?? ''),
            'IncompleteSignatureException',
          );
        }
        return gatewayError(
          403,
          'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
          'InvalidSignatureException',
        );
      }
      if (auth.scope.service !== 'execute-api') {
        return gatewayError(
          403,
          "Credential should be scoped to correct service: 'execute-api'. ",
          'InvalidSignatureException',
        );
      }
      if (auth.scope.region !== this.info.apiRegion) {
        return gatewayError(
          403,
          `Credential should be scoped to a valid region, not '${auth.scope.region}'. `,
          'InvalidSignatureException',
        );
      }
    }

    const response = await this.invoke(route, match.pathParameters, url, request);
    this.calls.add({
      service: 'execute-api',
      action: `${route.method} ${route.resource}`,
      region: this.info.apiRegion,
      dryRun: url.searchParams.get('dryRun') === 'true',
      status: response.status,
      path: url.pathname,
    });
    return response;
  }

  private buildEvent(
    route: ApiRoute,
    pathParameters: Record<string, string>,
    url: URL,
    request: ApiRequest,
    requestId: string,
  ): APIGatewayProxyEvent {
    const headers: Record<string, string> = {};
    const multiValueHeaders: Record<string, string[]> = {};
    for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
      const name = request.rawHeaders[i] ?? '';
      const value = request.rawHeaders[i + 1] ?? '';
      headers[name] = value;
      multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
    }
    const query: Record<string, string> = {};
    const multiQuery: Record<string, string[]> = {};
    for (const [key, value] of url.searchParams) {
      query[key] = value;
      multiQuery[key] = [...(multiQuery[key] ?? []), value];
    }
    const hasQuery = Object.keys(query).length > 0;
    const hasParams = Object.keys(pathParameters).length > 0;
    const now = Date.now();
    const signed = route.authorizer === 'aws_iam';
    return {
      resource: route.resource,
      path: url.pathname,
      httpMethod: request.method,
      headers,
      multiValueHeaders,
      queryStringParameters: hasQuery ? query : null,
      multiValueQueryStringParameters: hasQuery ? multiQuery : null,
      pathParameters: hasParams ? pathParameters : null,
      stageVariables: null,
      body: request.body.length > 0 ? request.body.toString('utf8') : null,
      isBase64Encoded: false,
      requestContext: {
        accountId: this.accountId,
        apiId: API_ID,
        authorizer: null,
        domainName: typeof request.headers.host === 'string' ? request.headers.host : 'localhost',
        domainPrefix: API_ID,
        extendedRequestId: requestId,
        httpMethod: request.method,
        path: `/${this.info.stage}${url.pathname}`,
        protocol: 'HTTP/1.1',
        requestId,
        requestTime: new Date(now).toUTCString(),
        requestTimeEpoch: now,
        resourceId: route.functionKey,
        resourcePath: route.resource,
        stage: this.info.stage,
        identity: {
          accessKey: signed ? SANDBOX_ACCESS_KEY_ID : null,
          accountId: signed ? this.accountId : null,
          apiKey: null,
          apiKeyId: null,
          caller: signed ? SANDBOX_USER_ID : null,
          clientCert: null,
          cognitoAuthenticationProvider: null,
          cognitoAuthenticationType: null,
          cognitoIdentityId: null,
          cognitoIdentityPoolId: null,
          principalOrgId: null,
          sourceIp: request.sourceIp,
          user: signed ? SANDBOX_USER_ID : null,
          userAgent: typeof request.headers['user-agent'] === 'string' ? request.headers['user-agent'] : null,
          userArn: signed ? SANDBOX_CALLER_ARN : null,
        },
      },
    };
  }

  private async invoke(
    route: ApiRoute,
    pathParameters: Record<string, string>,
    url: URL,
    request: ApiRequest,
  ): Promise<ApiResponse> {
    const requestId = randomUUID();
    const awsRequestId = randomUUID();
    const event = this.buildEvent(route, pathParameters, url, request, requestId);
    const timeoutMs = Math.min(route.timeoutSeconds, 29) * 1000;
    const deadline = Date.now() + timeoutMs;
    const context = this.lambda.context(route, awsRequestId, deadline);
    let timer: NodeJS.Timeout | undefined;
    try {
      const handler = await this.handlerFor(route);
      const result = await Promise.race([
        callHandler(handler, event, context),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`Task timed out after ${timeoutMs / 1000} seconds`)),
            timeoutMs,
          );
        }),
      ]);
      return this.toResponse(result as APIGatewayProxyResult, requestId);
    } catch (error) {
      this.log(`api: ${route.functionName} failed: ${(error as Error).stack ?? String(error)}`);
      return gatewayError(502, 'Internal server error', 'InternalServerErrorException');
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  private toResponse(result: APIGatewayProxyResult | undefined, requestId: string): ApiResponse {
    if (!result || typeof result.statusCode !== 'number') {
      this.log('api: handler returned a malformed proxy result');
      return gatewayError(502, 'Internal server error', 'InternalServerErrorException');
    }
    const headers: Record<string, string | string[]> = {};
    for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
      headers[name.toLowerCase()] = values.map(String);
    }
    for (const [name, value] of Object.entries(result.headers ?? {}))
      headers[name.toLowerCase()] = String(value);
    headers['content-type'] ??= 'application/json';
    headers['x-amzn-requestid'] ??= requestId;
    const body =
      result.body === undefined || result.body === null
        ? Buffer.alloc(0)
        : result.isBase64Encoded
          ? Buffer.from(result.body, 'base64')
          : Buffer.from(result.body, 'utf8');
    return { status: result.statusCode, headers, body };
  }
}
