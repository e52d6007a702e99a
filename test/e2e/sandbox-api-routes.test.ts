/**
 * The sandbox serving the project's own serverless.yml: a signed GET /amis/latest reaches the
 * real handler, whose SDK clients talk back to the sandbox (one SSM read, one image read, no scan).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from '../../sandbox/server';
import { signedGet } from '../support/sandbox-clients';

let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0 });
});
afterAll(async () => {
  await sandbox.close();
});

it('routes GET /amis/latest to functions/get-latest-ami.ts, whose AWS calls come back to the sandbox', async () => {
  const region = sandbox.world.region('us-west-2');
  const published = region.parameters.get('/pulsar-ami/dev/latest-ami-id')?.value;
  expect(published).toMatch(/^ami-/);
  sandbox.calls.clear();
  const response = await signedGet(sandbox.url, '/amis/latest');
  expect(response.status).toBe(200);
  expect(((await response.json()) as { imageId: string }).imageId).toBe(published);
  const log = sandbox.calls.list().map((c) => `${c.service} ${c.action}`);
  expect(log.filter((c) => c !== 'execute-api GET /amis/latest')).toEqual([
    'ssm GetParameter',
    'ec2 DescribeImages',
  ]);
  expect(log).toContain('execute-api GET /amis/latest');
});

it('answers 403 Missing Authentication Token for an unsigned request to a real route', async () => {
  const response = await fetch(new URL('/amis', sandbox.url));
  expect(response.status).toBe(403);
  expect(await response.json()).toEqual({ message: 'Missing Authentication Token' });
});
