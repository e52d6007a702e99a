/**
 * Packages the service once per test run (`serverless package`, offline, no credentials)
 * and hands the CloudFormation template's path, and what the framework printed, to the tests
 * that assert on them.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    packageDir: string;
    /** stdout then stderr of that `serverless package` run. */
    packageOutput: string;
  }
}

const run = promisify(execFile);

export default async function setup(project: TestProject) {
  const packageDir = await mkdtemp(join(tmpdir(), 'pulsar-ami-package-'));
  const { stdout, stderr } = await run(
    'npx',
    ['serverless', 'package', '--stage', 'test', '--package', packageDir],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  project.provide('packageDir', packageDir);
  project.provide('packageOutput', `${stdout}\n${stderr}`);
  return async () => {
    await rm(packageDir, { recursive: true, force: true });
  };
}
