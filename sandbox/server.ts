/**
 * The sandbox's HTTP server: `/_sandbox/…` → control interface, `POST /` → AWS services,
 * anything else → the project's HTTP API.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ApiGateway } from './api-gateway';
import { ARTIFACTS_ROUTE, handleArchiveControl, serveArtifact } from './artifacts/http';
import { handleAwsRequest, renderAwsRefusal } from './aws';
import { CallLog } from './calls';
import type { PackerRunner } from './codebuild/bridge';
import { CodeBuild } from './codebuild/engine';
import { handleControl } from './control';
import { EventBus } from './eventbridge';
import { Faults } from './faults';
import { LambdaRuntime } from './lambda';
import { isLoopback, type Refusal, RequestGate } from './request-gate';
import { seedWorld } from './seed';
import type { SandboxInfo } from './services';
import { handleStepFunctionsControl } from './stepfunctions/control';
import { StepFunctions } from './stepfunctions/engine';
import { sandboxTimeScale } from './stepfunctions/time';
import { World } from './world';

export interface SandboxOptions {
  /** 0 = a random free port (default 0). */
  port?: number;
  /**
   * The address to listen on, default 127.0.0.1. Anything but a loopback address exposes the
   * sandbox's unsigned control interface to the network and needs `allowRemote`.
   */
  host?: string;
  /** Opt in to listening on a non-loopback `host` (a warning is logged). */
  allowRemote?: boolean;
  /** Seed the default world (default true). */
  seed?: boolean;
  log?: (line: string) => void;
  /**
   * serverless.yml's deploy-time `PULSAR_AMI_…` settings (`${env:…}`), as a deployment reads
   * them; `npm run sandbox` passes its environment. Default: none, every setting its default.
   */
  deployEnv?: Readonly<Record<string, string | undefined>>;
  /** The stage whose API and stack the sandbox serves (default `dev`). */
  stage?: string;
  /** The API's region (default `us-west-2`). */
  apiRegion?: string;
  /** serverless.yml to take the API's routes from (default: the repository's). */
  serverlessYml?: string;
  /**
   * Compressed time: AWS seconds × timeScale = real seconds (default 0.005, or
   * PULSAR_AMI_SANDBOX_TIME_SCALE): boot 150 ms, SSM agent 200 ms later, terminate 100 ms.
   */
  timeScale?: number;
  /** CodeBuild's Packer stand-in (default: sandbox/packer's runPacker). */
  packer?: PackerRunner;
}

export interface Sandbox {
  url: string;
  port: number;
  /** The in-memory world, for tests that want to look or change directly. */
  world: World;
  calls: CallLog;
  faults: Faults;
  /** Executions (sandbox/stepfunctions/); `wait()` resolves when they have ended. */
  stepFunctions: StepFunctions;
  /** EventBridge deliveries; `idle()` resolves when none is pending. */
  events: EventBus;
  /** Empties every region; seeds again unless `seed` is false. */
  reset(seed?: boolean): void;
  close(): Promise<void>;
}

const MAX_BODY = 16 * 1024 * 1024;
const DEFAULT_SERVERLESS_YML = fileURLToPath(new URL('../serverless.yml', import.meta.url));

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error('request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(
  res: ServerResponse,
  status: number,
  headers: Record<string, string | string[]>,
  body: Buffer | string,
): void {
  const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, { ...headers, 'content-length': String(payload.length) });
  res.end(payload);
}

/** A refused request, answered in the shape its client expects (control, AWS, or the API). */
function refuse(res: ServerResponse, req: IncomingMessage, path: string, refusal: Refusal): void {
  const { status, message } = refusal;
  const json = { 'content-type': 'application/json' };
  if (path.startsWith('/_sandbox/')) {
    send(
      res,
      status,
      json,
      JSON.stringify({
        error: message,
        code: refusal.kind === 'content-type' ? 'UnsupportedMediaType' : 'Forbidden',
      }),
    );
    return;
  }
  if (path === '/' && (req.method === 'POST' || req.method === 'GET')) {
    const requestId = randomUUID();
    const out = renderAwsRefusal(req.headers, status, message, requestId);
    send(
      res,
      out.status,
      { 'content-type': out.contentType, 'x-amzn-RequestId': requestId, ...(out.headers ?? {}) },
      out.body,
    );
    return;
  }
  send(res, status, { ...json, 'x-amzn-ErrorType': 'AccessDeniedException' }, JSON.stringify({ message }));
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const log = options.log ?? (() => undefined);
  const host = options.host ?? '127.0.0.1';
  if (!isLoopback(host)) {
    if (!options.allowRemote) {
      throw new Error(
        `refusing to listen on ${host}: only loopback addresses keep the sandbox on this machine (npm run sandbox -- --host ${host} --allow-remote, or startSandbox({ allowRemote: true }), exposes it)`,
      );
    }
    console.warn(
      `pulsar-ami sandbox: WARNING: listening on ${host}; its unsigned control interface can reset and seed the world from the network`,
    );
  }
  let gate: RequestGate | undefined;
  const stage = options.stage ?? 'dev';
  const apiRegion = options.apiRegion ?? 'us-west-2';
  const faults = new Faults();
  const world = new World({ faults, timeScale: options.timeScale });
  const calls = new CallLog();
  const info: SandboxInfo = {
    url: '',
    stage,
    apiRegion,
    serviceName: 'pulsar-ami',
    ...(options.deployEnv ? { deployEnv: options.deployEnv } : {}),
  };
  const serverlessYml = options.serverlessYml ?? DEFAULT_SERVERLESS_YML;
  const lambda = new LambdaRuntime(serverlessYml, info, world.accountId, log, calls);
  const api = new ApiGateway(serverlessYml, info, world.accountId, calls, log, lambda);
  const events = world.attach(
    new EventBus(lambda, () => ({ account: world.accountId, region: apiRegion }), log),
  );
  const stepFunctions = new StepFunctions({
    lambda,
    events,
    info,
    accountId: world.accountId,
    calls,
    timeScale: sandboxTimeScale(world),
    log,
    world,
  });
  world.attachStepFunctions(stepFunctions);
  // The template's SSM documents and security groups exist as soon as serverless.yml is read.
  world.attachDeployment(() => lambda.tryConfig());
  world.attachCodeBuild(
    new CodeBuild({
      world,
      info,
      config: () => lambda.tryConfig(),
      serverlessYml,
      calls,
      log,
      // The stand-in tools (curl, dnf, …) and the artifact store, read-only, as in Packer's jails.
      readOnlyMounts: () => world.artifacts.mounts(),
      ...(options.packer ? { packer: options.packer } : {}),
    }),
  );

  const reset = (seed = true) => {
    world.clear();
    if (seed) seedWorld(world, { region: apiRegion, stage });
  };
  reset(options.seed ?? true);

  const server = createServer((req, res) => {
    void (async () => {
      const started = Date.now();
      const url = new URL(req.url ?? '/', 'http://sandbox');
      const method = req.method ?? 'GET';
      try {
        // No gate yet (not listening) refuses too: a missing check never lets a request in.
        const refusal = gate
          ? gate.check(method, url.pathname, req.headers, req.rawHeaders, req.url ?? '')
          : ({ kind: 'host', status: 403, message: 'The sandbox is not ready' } as const);
        if (refusal) {
          req.resume();
          refuse(res, req, url.pathname, refusal);
          log(`${method} ${url.pathname} refused: ${refusal.kind} (${refusal.status})`);
          return;
        }
        const body = await readBody(req);
        if (url.pathname === ARTIFACTS_ROUTE || url.pathname.startsWith(`${ARTIFACTS_ROUTE}/`)) {
          const out = await serveArtifact(method, url.pathname, world.artifacts);
          send(res, out.status, out.headers, out.body);
          log(`${method} ${url.pathname} → ${out.status} (${Date.now() - started} ms)`);
          return;
        }
        if (url.pathname.startsWith('/_sandbox/')) {
          let parsed: unknown;
          try {
            parsed = body.length === 0 ? undefined : JSON.parse(body.toString('utf8'));
          } catch {
            send(
              res,
              400,
              { 'content-type': 'application/json' },
              JSON.stringify({ error: 'body is not JSON' }),
            );
            return;
          }
          const sfn = await handleStepFunctionsControl(method, url.pathname, parsed, {
            stepFunctions,
            events,
            lambda,
          });
          if (sfn) {
            send(res, sfn.status, { 'content-type': 'application/json' }, JSON.stringify(sfn.body));
            return;
          }
          const archive = await handleArchiveControl(method, url.pathname, parsed, world.artifacts);
          if (archive) {
            send(res, archive.status, { 'content-type': 'application/json' }, JSON.stringify(archive.body));
            return;
          }
          const out = handleControl(method, url.pathname, parsed, {
            world,
            faults,
            calls,
            defaultRegion: apiRegion,
            reset,
          });
          send(res, out.status, { 'content-type': 'application/json' }, JSON.stringify(out.body));
          return;
        }
        const isAws =
          url.pathname === '/' && (method === 'POST' || (method === 'GET' && url.searchParams.has('Action')));
        if (isAws) {
          const requestId = randomUUID();
          const out = await handleAwsRequest(
            { method, url, headers: req.headers, body, requestId },
            { world, faults, calls, info, log },
          );
          send(
            res,
            out.status,
            { 'content-type': out.contentType, 'x-amzn-RequestId': requestId, ...(out.headers ?? {}) },
            out.body,
          );
          log(
            `${method} / ${req.headers['x-amz-target'] ?? ''} → ${out.status} (${Date.now() - started} ms)`,
          );
          return;
        }
        const out = await api.handle({
          method,
          url: req.url ?? '/',
          headers: req.headers,
          rawHeaders: req.rawHeaders,
          body,
          sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        });
        send(res, out.status, out.headers, out.body);
        log(`${method} ${url.pathname} → ${out.status} (${Date.now() - started} ms)`);
      } catch (error) {
        log(`sandbox: ${method} ${url.pathname} failed: ${(error as Error).stack ?? String(error)}`);
        if (!res.headersSent) {
          send(
            res,
            500,
            { 'content-type': 'application/json' },
            JSON.stringify({ message: 'Internal server error' }),
          );
        } else {
          res.destroy();
        }
      }
    })();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  gate = new RequestGate({ port, listenHost: host });
  // A wildcard listener is reached from this machine at 127.0.0.1: that is the URL it gives out.
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  info.url = `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
  info.serviceName = api.serviceName() ?? info.serviceName;
  log(`sandbox listening on ${info.url}`);

  return {
    url: info.url,
    port,
    world,
    calls,
    faults,
    stepFunctions,
    events,
    reset,
    close: () =>
      new Promise<void>((resolve, reject) => {
        world.dispose();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
