/**
 * `POST /` for AWS clients: SigV4 first, then the JSON protocol (by `X-Amz-Target`) or the
 * query protocol (service from the credential scope), with the region from the same scope;
 * every authenticated call is logged, and may be throttled by a fault.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { autoScalingService } from './autoscaling/index';
import type { CallLog } from './calls';
import { cloudFormationService } from './cloudformation/index';
import { ec2Service } from './ec2/index';
import { AwsError } from './errors/aws-error';
import {
  AccessDenied,
  AccessDeniedException,
  IncompleteSignature,
  IncompleteSignatureException,
  InternalError,
  InternalFailure,
  InvalidAction,
  InvalidClientTokenId,
  InvalidSignatureException,
  MissingAuthenticationToken,
  MissingAuthenticationTokenException,
  RequestLimitExceeded,
  SerializationException,
  SignatureDoesNotMatch,
  Throttling,
  ThrottlingException,
  UnauthorizedOperation,
  UnknownOperationException,
  UnrecognizedClientException,
} from './errors/common';
import type { Faults } from './faults';
import { jsonServiceFor, renderJsonError, renderJsonResult } from './json-protocol';
import { QueryParams, renderQueryError } from './query';
import type { AwsCallContext, QueryService, SandboxInfo, ServiceResponse } from './services';
import { type AuthOutcome, credentialScope, verifySigV4 } from './sigv4';
import { stsService } from './sts/index';
import type { World } from './world';

export const QUERY_SERVICES: Record<string, QueryService> = {
  ec2: ec2Service,
  sts: stsService,
  cloudformation: cloudFormationService,
  autoscaling: autoScalingService,
};

export interface AwsRequest {
  method: string;
  url: URL;
  headers: IncomingHttpHeaders;
  body: Buffer;
  requestId: string;
}

export interface AwsRuntime {
  world: World;
  faults: Faults;
  calls: CallLog;
  info: SandboxInfo;
  log: (line: string) => void;
}

const genericQueryError = renderQueryError('https://sts.amazonaws.com/doc/2011-06-15/');

function authError(outcome: Exclude<AuthOutcome, { ok: true }>, json: boolean): AwsError {
  switch (outcome.reason) {
    case 'missing':
      return json ? new MissingAuthenticationTokenException() : new MissingAuthenticationToken();
    case 'malformed':
      return json ? new IncompleteSignatureException() : new IncompleteSignature();
    case 'unknown-key':
      return json ? new UnrecognizedClientException() : new InvalidClientTokenId();
    case 'bad-signature':
      return json ? new InvalidSignatureException() : new SignatureDoesNotMatch();
  }
}

/** What a service's handler gets about a call signed (validly) for `auth.scope.region`. */
function callContext(
  auth: Extract<AuthOutcome, { ok: true }>,
  request: AwsRequest,
  runtime: AwsRuntime,
): AwsCallContext {
  return {
    world: runtime.world,
    regionName: auth.scope.region,
    requestId: request.requestId,
    sandbox: runtime.info,
  };
}

/**
 * A request the sandbox refuses before reading it (see request-gate.ts), in the protocol its
 * client speaks: JSON services by X-Amz-Target, query services by the credential scope.
 */
export function renderAwsRefusal(
  headers: IncomingHttpHeaders,
  status: number,
  message: string,
  requestId: string,
): ServiceResponse {
  const target = headers['x-amz-target'];
  if (typeof target === 'string') {
    const { service } = jsonServiceFor(target);
    return renderJsonError(new AccessDeniedException(message, status), service?.contentType);
  }
  const scopeService = credentialScope(headers)?.service;
  const service =
    scopeService !== undefined && Object.hasOwn(QUERY_SERVICES, scopeService)
      ? QUERY_SERVICES[scopeService]
      : undefined;
  const error =
    service === QUERY_SERVICES.ec2
      ? new UnauthorizedOperation(message, status)
      : new AccessDenied(message, status);
  return (service?.renderError ?? genericQueryError)(error, requestId);
}

function throttled(service: string): AwsError {
  return service === 'ec2' ? new RequestLimitExceeded() : new Throttling();
}

export async function handleAwsRequest(request: AwsRequest, runtime: AwsRuntime): Promise<ServiceResponse> {
  const target = request.headers['x-amz-target'];
  const targetName = Array.isArray(target) ? target[0] : target;
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of request.url.searchParams) query[key] = value;
  const auth = await verifySigV4({
    method: request.method,
    path: request.url.pathname,
    query,
    headers: request.headers,
    body: request.body,
  });
  if (targetName !== undefined) return handleJson(targetName, auth, request, runtime);

  const body = request.method === 'GET' ? request.url.searchParams.toString() : request.body.toString('utf8');
  const params = new QueryParams(body);
  const scopeService = auth.scope?.service;
  const service =
    scopeService !== undefined && Object.hasOwn(QUERY_SERVICES, scopeService)
      ? QUERY_SERVICES[scopeService]
      : undefined;
  const renderError = service?.renderError ?? genericQueryError;
  if (!auth.ok) return renderError(authError(auth, false), request.requestId);
  if (!service) {
    return renderError(InvalidAction.notServed(auth.scope.service), request.requestId);
  }
  const action = params.action ?? '';
  const dryRun = service === QUERY_SERVICES.ec2 && params.bool('DryRun');
  const ctx = callContext(auth, request, runtime);
  let response: ServiceResponse;
  try {
    if (runtime.faults.takeThrottle(service.signingName, action)) throw throttled(service.signingName);
    response = await service.handle(params, ctx);
  } catch (error) {
    response = renderError(
      asAwsError(error, runtime, () => new InternalError()),
      request.requestId,
    );
  }
  runtime.calls.add({
    service: service.signingName,
    action,
    region: ctx.regionName,
    dryRun,
    status: response.status,
  });
  return response;
}

async function handleJson(
  target: string,
  auth: AuthOutcome,
  request: AwsRequest,
  runtime: AwsRuntime,
): Promise<ServiceResponse> {
  const { service, operation } = jsonServiceFor(target);
  const contentType = service?.contentType ?? 'application/x-amz-json-1.1';
  if (!auth.ok) return renderJsonError(authError(auth, true), contentType);
  const fn =
    service && Object.hasOwn(service.operations, operation) ? service.operations[operation] : undefined;
  if (!service || !fn) {
    return renderJsonError(new UnknownOperationException(target), contentType);
  }
  const ctx = callContext(auth, request, runtime);
  let response: ServiceResponse;
  try {
    if (runtime.faults.takeThrottle(service.name, operation)) {
      throw new ThrottlingException();
    }
    let input: unknown;
    try {
      input = request.body.length === 0 ? {} : JSON.parse(request.body.toString('utf8'));
    } catch {
      throw new SerializationException();
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new SerializationException();
    }
    response = renderJsonResult(await fn(input as Record<string, unknown>, ctx), contentType);
  } catch (error) {
    response = renderJsonError(
      asAwsError(error, runtime, () => new InternalFailure()),
      contentType,
    );
  }
  runtime.calls.add({
    service: service.name,
    action: operation,
    region: ctx.regionName,
    dryRun: false,
    status: response.status,
  });
  return response;
}

function asAwsError(error: unknown, runtime: AwsRuntime, internal: () => AwsError): AwsError {
  if (error instanceof AwsError) return error;
  runtime.log(`aws: internal error: ${(error as Error).stack ?? String(error)}`);
  return internal();
}
