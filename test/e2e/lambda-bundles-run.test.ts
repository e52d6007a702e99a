/**
 * The deployable artifacts run: each API function is bundled exactly as `serverless package`
 * bundles it (custom.esbuild), loaded by a plain Node 22 process as Lambda would load it, and
 * invoked with an API Gateway event; its SDK calls reach the sandbox over HTTP.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleOptions, lambdaFunctions } from '../../bench/lambda-bundles';
import { sandboxCredentials } from '../../sandbox/credentials';
import { type Sandbox, startSandbox } from '../../sandbox/server';
import { loadServerlessApp } from '../../sandbox/serverless-config';
import { apiEvent, lambdaContext } from '../support/api-event';

let sandbox: Sandbox;
let dir: string;
const deployEnvironment = loadServerlessApp(resolve(import.meta.dirname, '../../serverless.yml'), {
  stage: 'dev',
  region: 'us-west-2',
  accountId: '123456789012',
}).environment;

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, log: () => undefined });
  dir = await mkdtemp(join(tmpdir(), 'pulsar-ami-bundles-'));
  await Promise.all(
    lambdaFunctions().map((fn) =>
      build({ ...bundleOptions(), entryPoints: [fn.entry], outfile: join(dir, `${fn.name}.js`) }),
    ),
  );
  // Every function bundled, minified: a minute or more on a busy two-core machine.
}, 300_000);
afterAll(async () => {
  await sandbox.close();
  await rm(dir, { recursive: true, force: true });
});

/** Invokes one bundle's handler in a fresh Node process and returns what it answered. */
async function invoke(
  name: string,
  event: unknown,
  extraEnv: Record<string, string> = {},
): Promise<{ statusCode: number; body: string; headers?: Record<string, string> }> {
  const runner = join(dir, `invoke-${name}.cjs`);
  // The answer goes to a file: stdout is the function's (Powertools Metrics writes its EMF
  // lines there, as on Lambda).
  const answer = join(dir, `answer-${name}-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(
    runner,
    `const { handler } = require(${JSON.stringify(join(dir, `${name}.js`))});
     handler(${JSON.stringify(event)}, ${JSON.stringify(lambdaContext(name))})
       .then((r) => require('node:fs').writeFileSync(${JSON.stringify(answer)}, JSON.stringify(r)), (e) => { console.error(e); process.exit(1); });`,
  );
  const env = {
    // What Lambda gives every function: serverless.yml's provider environment (the legacy
    // cutoff, the cleanup settings, …), as the deployment resolves it.
    ...deployEnvironment,
    PATH: process.env.PATH ?? '',
    AWS_REGION: 'us-west-2',
    AWS_ENDPOINT_URL: sandbox.url,
    AWS_ACCESS_KEY_ID: sandboxCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: sandboxCredentials.secretAccessKey,
    STAGE: 'dev',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    ...extraEnv,
  };
  return new Promise((done, fail) => {
    // Run from the bundles' folder, not the repository: what a function reads must come from
    // its package (LAMBDA_TASK_ROOT), as on Lambda.
    execFile(process.execPath, [runner], { env, cwd: dir }, (error, _stdout, stderr) => {
      if (error) return fail(new Error(`${name}: ${stderr}`));
      readFile(answer, 'utf8').then((text) => done(JSON.parse(text)), fail);
    });
  });
}

describe('bundled Lambdas, run as Lambda runs them', () => {
  it('listAmis lists the seeded AMIs', async () => {
    const response = await invoke('listAmis', apiEvent({ method: 'GET', path: '/amis' }));
    expect(response.statusCode).toBe(200);
    const { items } = JSON.parse(response.body) as { items: { name: string }[] };
    expect(items.map((a) => a.name.split('-')[2])).toEqual(['3.0.0', '2.11.0', '2.10.0', '2.9.0']);
  });

  it('getLatestAmi reads the published parameter', async () => {
    const published = sandbox.world
      .region('us-west-2')
      .parameters.get('/pulsar-ami/dev/latest-ami-id')?.value;
    const response = await invoke('getLatestAmi', apiEvent({ method: 'GET', path: '/amis/latest' }));
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ imageId: published, source: 'parameter' });
  });

  it('deleteAmi answers a dry run with EC2’s DryRun and a 400 problem for a malformed id', async () => {
    const id = sandbox.world.region('us-west-2').parameters.get('/pulsar-ami/dev/latest-ami-id')?.value ?? '';
    const dry = await invoke(
      'deleteAmi',
      apiEvent({ method: 'DELETE', path: `/amis/${id}`, pathParameters: { id }, query: { dryRun: 'true' } }),
    );
    expect(dry.statusCode).toBe(200);
    expect(JSON.parse(dry.body)).toMatchObject({ imageId: id, dryRun: true, deregistered: false });
    const bad = await invoke(
      'deleteAmi',
      apiEvent({ method: 'DELETE', path: '/amis/ami-xyz', pathParameters: { id: 'ami-xyz' } }),
    );
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ field: 'id' });
  });

  it('startValidation starts ValidateAmi with only what to validate (the checks are the stack’s document)', async () => {
    const id = sandbox.world.region('us-west-2').parameters.get('/pulsar-ami/dev/latest-ami-id')?.value ?? '';
    const event = {
      ...apiEvent({ method: 'POST', path: `/amis/${id}/validations`, pathParameters: { id } }),
      body: '{}',
    };
    const env = {
      VALIDATE_AMI_STATE_MACHINE_ARN:
        'arn:aws:states:us-west-2:123456789012:stateMachine:pulsar-ami-dev-validate-ami',
    };
    // The bundle needs no file beside it: it runs from any task root.
    const started = await invoke('startValidation', event, { ...env, LAMBDA_TASK_ROOT: dir });
    expect(started.statusCode).toBe(202);
    const { executionArn } = JSON.parse(started.body) as { executionArn: string };
    const execution = sandbox.stepFunctions.list().find((e) => e.arn === executionArn);
    expect(Object.keys(JSON.parse(execution?.input ?? '{}')).sort()).toEqual([
      'imageId',
      'instanceType',
      'polling',
    ]);
  });

  it('evaluateCheckResults turns check lines into a verdict', async () => {
    const line = (name: string, passed: boolean) => JSON.stringify({ name, passed, detail: 'x' });
    const response = await invoke('evaluateCheckResults', {
      invocation: {
        Status: 'Failed',
        StandardOutputContent: `${line('Java 17', false)}\n${line('Java installed', true)}`,
      },
      expectedChecks: ['Java installed', 'Java 17'],
    });
    expect(response).toMatchObject({ passed: false, failedChecks: ['Java 17'] });
  });
});
