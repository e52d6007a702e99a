/**
 * serverless.yml's functions run in-process, as Lambda would run them: the application's
 * environment (provider and function `environment`, references resolved) set once in
 * `process.env` before the first handler module is imported, together with `AWS_ENDPOINT_URL`
 * = the sandbox and the sandbox credentials, so the handlers' SDK clients come back here; a
 * Lambda context; the function's timeout; errors reported as Lambda reports them
 * (`errorType`, `errorMessage`, `trace`). Shared by API Gateway, Step Functions and EventBridge.
 *
 * One process, one environment: every function sees the union of all `environment` blocks.
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import type { CallLog } from './calls';
import { SANDBOX_ACCESS_KEY_ID, SANDBOX_SECRET_ACCESS_KEY } from './credentials';
import {
  findFunction,
  loadServerlessApp,
  type ServerlessApp,
  type ServerlessFunction,
} from './serverless-config';
import type { SandboxInfo } from './services';

export type LambdaHandler = (event: never, context: Context, callback?: unknown) => unknown;

export interface LambdaTarget {
  functionName: string;
  modulePath: string;
  exportName: string;
  timeoutSeconds: number;
  memorySize: number;
}

export type InvokeOutcome =
  | { ok: true; payload: unknown; requestId: string }
  | { ok: false; errorType: string; errorMessage: string; trace: string[]; requestId: string };

export class LambdaRuntime {
  private app: ServerlessApp | null = null;
  private envApplied = false;
  private readonly modules = new Map<string, Promise<LambdaHandler>>();

  constructor(
    private readonly serverlessYml: string,
    private readonly info: SandboxInfo,
    private readonly accountId: string,
    private readonly log: (line: string) => void,
    private readonly calls?: CallLog,
  ) {}

  /** serverless.yml, read on first use (the sandbox starts even before it exists). */
  config(): ServerlessApp {
    if (!this.app) {
      this.app = loadServerlessApp(this.serverlessYml, {
        stage: this.info.stage,
        region: this.info.apiRegion,
        accountId: this.accountId,
        ...(this.info.deployEnv ? { env: this.info.deployEnv } : {}),
      });
    }
    return this.app;
  }

  /** The application, or null when serverless.yml cannot be read. */
  tryConfig(): ServerlessApp | null {
    try {
      return this.config();
    } catch (error) {
      this.log(`lambda: cannot load ${this.serverlessYml}: ${(error as Error).message}`);
      return null;
    }
  }

  find(nameOrArn: string): ServerlessFunction | undefined {
    const app = this.tryConfig();
    return app ? findFunction(app, nameOrArn) : undefined;
  }

  /** The Lambdas' environment, set once before the first handler module is imported. */
  applyEnvironment(): void {
    if (this.envApplied) return;
    this.envApplied = true;
    Object.assign(process.env, this.tryConfig()?.environment ?? {}, {
      AWS_ENDPOINT_URL: this.info.url,
      AWS_REGION: this.info.apiRegion,
      AWS_DEFAULT_REGION: this.info.apiRegion,
      AWS_ACCESS_KEY_ID: SANDBOX_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: SANDBOX_SECRET_ACCESS_KEY,
      STAGE: this.info.stage,
      // POST /builds checks the version's .sha512 in the archive: here, the artifact store's.
      ARCHIVE_BASE_URL: `${this.info.url}/_sandbox/artifacts/archive.apache.org/dist`,
      // No X-Ray here, and metrics would print their EMF lines amid the sandbox's output.
      POWERTOOLS_TRACE_ENABLED: 'false',
      POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
    });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
  }

  handler(modulePath: string, exportName: string): Promise<LambdaHandler> {
    const key = `${modulePath}#${exportName}`;
    let loaded = this.modules.get(key);
    if (!loaded) {
      this.applyEnvironment();
      loaded = import(pathToFileURL(modulePath).href).then((mod: Record<string, unknown>) => {
        const handler = mod[exportName] ?? (mod.default as Record<string, unknown> | undefined)?.[exportName];
        if (typeof handler !== 'function') throw new Error(`${modulePath} has no export ${exportName}`);
        return handler as LambdaHandler;
      });
      loaded.catch(() => this.modules.delete(key));
      this.modules.set(key, loaded);
    }
    return loaded;
  }

  /** The Lambda `Context` a handler gets, for every caller (API Gateway, Step Functions, EventBridge). */
  context(target: LambdaTarget, requestId: string, deadline: number): Context {
    return {
      callbackWaitsForEmptyEventLoop: true,
      functionName: target.functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${this.info.apiRegion}:${this.accountId}:function:${target.functionName}`,
      memoryLimitInMB: String(target.memorySize),
      awsRequestId: requestId,
      logGroupName: `/aws/lambda/${target.functionName}`,
      logStreamName: `${new Date().toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${requestId.replaceAll('-', '')}`,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
  }

  /**
   * Runs the function with `event` (a JSON round trip, as Lambda would deliver it) and reports
   * what it returned or threw. Logged as `lambda Invoke` (path = function name) in the calls log.
   */
  async invoke(target: LambdaTarget, event: unknown): Promise<InvokeOutcome> {
    const requestId = randomUUID();
    const timeoutMs = target.timeoutSeconds * 1000;
    const deadline = Date.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    let outcome: InvokeOutcome;
    try {
      const handler = await this.handler(target.modulePath, target.exportName);
      const payload = event === undefined ? undefined : JSON.parse(JSON.stringify(event));
      const context = this.context(target, requestId, deadline);
      const result = await Promise.race([
        callHandler(handler, payload, context),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new LambdaTimeout(requestId, target.timeoutSeconds)), timeoutMs);
        }),
      ]);
      outcome = {
        ok: true,
        payload: result === undefined ? null : JSON.parse(JSON.stringify(result)),
        requestId,
      };
    } catch (error) {
      outcome = { ...describeLambdaError(error), ok: false, requestId };
      this.log(`lambda: ${target.functionName} failed: ${outcome.errorType}: ${outcome.errorMessage}`);
    } finally {
      if (timer) clearTimeout(timer);
    }
    this.calls?.add({
      service: 'lambda',
      action: 'Invoke',
      region: this.info.apiRegion,
      dryRun: false,
      status: outcome.ok ? 200 : 500,
      path: target.functionName,
    });
    return outcome;
  }
}

/** Calls a handler as the Node.js runtime does: its returned promise or its callback, whichever answers. */
export function callHandler(handler: LambdaHandler, event: unknown, context: Context): Promise<unknown> {
  return new Promise<unknown>((resolve, reject) => {
    const returned = handler(event as never, context, (error: unknown, value: unknown) =>
      error ? reject(error) : resolve(value),
    );
    if (returned && typeof (returned as Promise<unknown>).then === 'function') {
      (returned as Promise<unknown>).then(resolve, reject);
    }
  });
}

class LambdaTimeout extends Error {
  override name = 'Sandbox.Timedout';
  constructor(requestId: string, seconds: number) {
    super(`${new Date().toISOString()} ${requestId} Task timed out after ${seconds.toFixed(2)} seconds`);
  }
}

/** `{errorType, errorMessage, trace}` as the Node.js Lambda runtime reports a thrown value. */
export function describeLambdaError(error: unknown): {
  errorType: string;
  errorMessage: string;
  trace: string[];
} {
  if (error instanceof Error) {
    return {
      errorType: error.name || error.constructor.name || 'Error',
      errorMessage: error.message,
      trace: (error.stack ?? '').split('\n').filter(Boolean),
    };
  }
  return { errorType: typeof error, errorMessage: String(error), trace: [] };
}
