/**
 * Once per test run:
 *  - points TMPDIR at a fresh folder of its own (`$TMPDIR/pulsar-ami-test-run-*`): every test
 *    worker and every process the tests start inherit it, so `os.tmpdir()` is that folder for
 *    them all. When the run ends, anything left in it (tool caches aside) fails the run, and
 *    the folder is removed either way: a run leaves nothing in the system's temporary folder.
 *  - packages the service (`serverless package`, offline, no credentials) and hands the
 *    CloudFormation template's path, and what the framework printed, to the tests that assert
 *    on them.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { leftoverMessage, leftovers, RUN_TMP_PREFIX } from './temp-dir';

declare module 'vitest' {
  export interface ProvidedContext {
    packageDir: string;
    /** stdout then stderr of that `serverless package` run. */
    packageOutput: string;
    /** The run's temporary folder (TMPDIR of every worker). */
    runTmp: string;
  }
}

const run = promisify(execFile);

export default async function setup(project: TestProject) {
  const runTmp = await mkdtemp(join(tmpdir(), RUN_TMP_PREFIX));
  // Open as the system's temporary folder is (sticky, everyone may pass): the sandbox's
  // contained roots live under it and their unprivileged user must reach them.
  await chmod(runTmp, 0o1777);
  process.env.TMPDIR = runTmp;
  project.provide('runTmp', runTmp);

  let packageDir: string;
  try {
    packageDir = await packageService(project, runTmp);
  } catch (error) {
    await rm(runTmp, { recursive: true, force: true });
    throw error;
  }

  return async () => {
    await rm(packageDir, { recursive: true, force: true });
    const left = leftovers(runTmp);
    await rm(runTmp, { recursive: true, force: true });
    if (left.length > 0) throw new Error(leftoverMessage(runTmp, left));
  };
}

/** `serverless package` into a new folder of the run's; resolves to that folder. */
async function packageService(project: TestProject, runTmp: string): Promise<string> {
  const packageDir = await mkdtemp(join(runTmp, 'package-'));
  // serverless-esbuild copies each function into `$TMPDIR/<function>-<pid>-…` to zip it and
  // does not remove the copy (a non-recursive remove of a full folder fails silently): give
  // it a folder of its own, removed once packaging is done.
  const packagingTmp = await mkdtemp(join(runTmp, 'serverless-package-tmp-'));
  try {
    const { stdout, stderr } = await run(
      'npx',
      ['serverless', 'package', '--stage', 'test', '--package', packageDir],
      { maxBuffer: 16 * 1024 * 1024, env: { ...process.env, TMPDIR: packagingTmp } },
    );
    project.provide('packageDir', packageDir);
    project.provide('packageOutput', `${stdout}\n${stderr}`);
    return packageDir;
  } finally {
    await rm(packagingTmp, { recursive: true, force: true });
  }
}
