/**
 * Retiring old AMIs end to end on the sandbox: the project's CleanupAmis machine (through
 * serverless.yml, its Lambdas in-process) started with the real SFNClient retires exactly the
 * AMIs the plan says, with their snapshots and the orphaned snapshot, and nothing else (the
 * published latest, an AMI a launch configuration names, the newest 3, another tool's image
 * stay); a plan alone makes no call that changes anything. And the sandbox's Auto Scaling:
 * launch configurations over the query protocol with the real AutoScalingClient.
 */
import {
  AutoScalingClient,
  CreateLaunchConfigurationCommand,
  DeleteLaunchConfigurationCommand,
  DescribeLaunchConfigurationsCommand,
} from '@aws-sdk/client-auto-scaling';
import { CreateTagsCommand, DeregisterImageCommand, DescribeSnapshotsCommand } from '@aws-sdk/client-ec2';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type CleanupPlan, cleanupSettings, planCleanup } from '../../functions/lib/cleanup-plan';
import { loadConfig } from '../../functions/lib/config';
import { sandboxCredentials } from '../../sandbox/credentials';
import { type E2e, startE2e } from '../support/e2e';
import { sandboxSsm } from '../support/sandbox-clients';

const MACHINE = 'arn:aws:states:us-west-2:123456789012:stateMachine:pulsar-ami-dev-cleanup-amis';

let e2e: E2e;
let ssm: SSMClient;
let sfn: SFNClient;
let autoScaling: AutoScalingClient;

beforeAll(async () => {
  e2e = await startE2e();
  ssm = sandboxSsm(e2e.url);
  const options = { region: 'us-west-2', endpoint: e2e.url, credentials: sandboxCredentials, maxAttempts: 1 };
  sfn = new SFNClient(options);
  autoScaling = new AutoScalingClient(options);
});
afterAll(async () => {
  ssm.destroy();
  sfn.destroy();
  autoScaling.destroy();
  await e2e.close();
});
beforeEach(async () => {
  await e2e.control('DELETE', 'faults');
  await e2e.control('POST', 'reset', { seed: false });
  await e2e.control('DELETE', 'calls');
});

interface Snapshot {
  snapshotId: string;
}
interface WorldState {
  regions: Record<string, { images: { imageId: string; state: string }[]; snapshots: Snapshot[] }>;
}
const state = async () => (await e2e.control<WorldState>('GET', 'state')).regions['us-west-2'];

const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString();

/** Seven of this tool's validated AMIs, 2 to 8 days old, each with its snapshot, and another tool's. */
async function seed(): Promise<{ ids: string[]; snapshots: Map<string, string[]>; foreign: string }> {
  const out = await e2e.control<{ images: { imageId: string; snapshotIds: string[] }[] }>('POST', 'images', {
    images: [
      ...Array.from({ length: 7 }, (_, i) => ({
        name: `pulsar-base-3.1.${i}-2025070100000${i}`,
        createdAt: daysAgo(i + 2),
        tags: { ManagedBy: 'pulsar-ami', PulsarVersion: `3.1.${i}`, Validated: 'true' },
      })),
      { name: 'ubuntu-jammy-custom', createdAt: daysAgo(300), managed: false },
    ],
  });
  const ids = out.images.slice(0, 7).map((i) => i.imageId);
  return {
    ids,
    snapshots: new Map(out.images.map((i) => [i.imageId, i.snapshotIds])),
    foreign: out.images[7]?.imageId ?? '',
  };
}

describe('CleanupAmis on the sandbox', () => {
  it('a snapshot kept on purpose (--keep-snapshots) and then tagged OrphanedFrom with an id that never existed stays', async () => {
    const { ids, snapshots } = await seed();
    const target = ids[6] ?? '';
    const kept = snapshots.get(target)?.[0] ?? '';
    const deleted = await e2e.cli(['delete', '--ami-id', target, '--keep-snapshots']);
    expect(deleted.code, deleted.stderr).toBe(0);
    // The deletion path tagged nothing OrphanedFrom.
    const [described] =
      (await e2e.ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [kept] }))).Snapshots ?? [];
    expect(described?.Tags?.map((t) => t.Key)).not.toContain('OrphanedFrom');
    expect(described?.Description).toBe(`Created by CreateImage(i-ffffffff) for ${target}`);
    // Anyone may tag it; the tag alone must not get it deleted.
    await e2e.ec2.send(
      new CreateTagsCommand({
        Resources: [kept],
        Tags: [{ Key: 'OrphanedFrom', Value: 'ami-0123456789abcdef0' }],
      }),
    );
    const { executionArn = '' } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: MACHINE,
        name: 'cleanup-e2e-kept',
        input: '{"source":"api"}',
      }),
    );
    await e2e.control('POST', 'executions/wait', { executionArns: [executionArn], timeoutMs: 25_000 });
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(execution.status, execution.cause).toBe('SUCCEEDED');
    const output = JSON.parse(execution.output ?? '{}') as {
      plan: CleanupPlan;
      report: Record<string, number>;
    };
    expect(output.plan.orphanedSnapshots).toEqual([
      {
        snapshotId: kept,
        orphanedFrom: 'ami-0123456789abcdef0',
        sizeGiB: 8,
        action: 'keep',
        reason: `its EC2 description names ${target}, not ami-0123456789abcdef0 (the OrphanedFrom tag)`,
      },
    ]);
    expect(output.report.orphanedSnapshotsDeleted).toBe(0);
    expect((await state())?.snapshots.map((x) => x.snapshotId)).toContain(kept);
  });

  it('a plan changes nothing; the applied run retires exactly the planned AMIs, their snapshots and the orphan, nothing else', async () => {
    const { ids, snapshots, foreign } = await seed();
    // The published latest (an old one) and an AMI a launch configuration names stay.
    await ssm.send(
      new PutParameterCommand({
        Name: '/pulsar-ami/dev/latest-ami-id',
        Value: ids[4],
        Type: 'String',
        DataType: 'aws:ec2:image',
      }),
    );
    await autoScaling.send(
      new CreateLaunchConfigurationCommand({
        LaunchConfigurationName: 'legacy-asg',
        ImageId: ids[6],
        InstanceType: 't3.micro',
      }),
    );
    // An orphan an earlier delete left: its image deregistered, the snapshot tagged OrphanedFrom.
    const [orphanImage] = (
      await e2e.control<{ images: { imageId: string; snapshotIds: string[] }[] }>('POST', 'images', {
        images: [{ name: 'pulsar-base-3.0.9-20250101000000', createdAt: daysAgo(90) }],
      })
    ).images;
    await e2e.ec2.send(new DeregisterImageCommand({ ImageId: orphanImage?.imageId }));
    const orphan = orphanImage?.snapshotIds[0] ?? '';
    await e2e.ec2.send(
      new CreateTagsCommand({
        Resources: [orphan],
        Tags: [{ Key: 'OrphanedFrom', Value: orphanImage?.imageId }],
      }),
    );
    await e2e.control('DELETE', 'calls');
    const before = await state();

    // The plan alone: only reads.
    const settings = cleanupSettings(loadConfig({ STAGE: 'dev', AWS_REGION: 'us-west-2' }));
    const plan = await planCleanup({ ec2: e2e.ec2, ssm, autoScaling }, settings);
    const calls = await e2e.calls();
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.filter((c) => !/^(Describe|Get)\w+$/.test(c.action))).toEqual([]);
    expect(await state()).toEqual(before);
    const actions = new Map(plan.decisions.map((d) => [d.imageId, [d.action, d.reason]]));
    expect(ids.map((id) => actions.get(id))).toEqual([
      ['keep', 'newest 3'],
      ['keep', 'newest 3'],
      ['keep', 'newest 3'],
      ['delete', 'beyond the newest 3'],
      ['keep', 'published latest'],
      ['delete', 'beyond the newest 3'],
      ['keep', 'in use: Auto Scaling launch configuration legacy-asg'],
    ]);
    expect(actions.has(foreign)).toBe(false);
    expect(plan.orphanedSnapshots).toMatchObject([{ snapshotId: orphan, action: 'delete' }]);

    // The applied run, through the machine.
    const { executionArn = '' } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: MACHINE,
        name: 'cleanup-e2e-1',
        input: JSON.stringify({ source: 'api' }),
      }),
    );
    await e2e.control('POST', 'executions/wait', { executionArns: [executionArn], timeoutMs: 25_000 });
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(execution.status, execution.cause).toBe('SUCCEEDED');
    const output = JSON.parse(execution.output ?? '{}') as {
      plan: CleanupPlan;
      results: { imageId: string; outcome: string }[];
      report: Record<string, number>;
    };
    const planned = plan.decisions.filter((d) => d.action === 'delete').map((d) => d.imageId);
    expect(output.plan.decisions.map((d) => [d.imageId, d.action])).toEqual(
      plan.decisions.map((d) => [d.imageId, d.action]),
    );
    expect(output.results.map((r) => [r.imageId, r.outcome]).sort()).toEqual(
      planned.map((id) => [id, 'done']).sort(),
    );
    expect(output.report).toMatchObject({ retired: 2, failed: 0, skipped: 0, orphanedSnapshotsDeleted: 1 });

    const after = await state();
    const gone = (list: { imageId?: string; snapshotId?: string }[], key: 'imageId' | 'snapshotId') =>
      new Set(list.map((x) => x[key]));
    const imagesAfter = gone(after?.images ?? [], 'imageId');
    const snapshotsAfter = gone(after?.snapshots ?? [], 'snapshotId');
    expect(
      (before?.images ?? [])
        .map((i) => i.imageId)
        .filter((id) => !imagesAfter.has(id))
        .sort(),
    ).toEqual([...planned].sort());
    const plannedSnapshots = [...planned.flatMap((id) => snapshots.get(id) ?? []), orphan].sort();
    expect(
      (before?.snapshots ?? [])
        .map((s) => s.snapshotId)
        .filter((id) => !snapshotsAfter.has(id))
        .sort(),
    ).toEqual(plannedSnapshots);
    expect(imagesAfter.has(foreign)).toBe(true);
  });

  it('two stages in one account and region: dev’s run keeps every image prod built and every AMI prod publishes', async () => {
    const { ids } = await seed();
    const prodArn = (n: number) =>
      `arn:aws:states:us-west-2:123456789012:execution:pulsar-ami-prod-build-ami:build-${n}`;
    // Prod's: three newer than all of dev's, and its rollback (older, published as prod's latest of 3.0.5).
    const prod = (
      await e2e.control<{ images: { imageId: string }[] }>('POST', 'images', {
        images: [
          ...[0, 1, 2].map((n) => ({
            name: `pulsar-base-3.2.${n}-2025070200000${n}`,
            createdAt: daysAgo(1.5 + n * 0.1),
            tags: {
              ManagedBy: 'pulsar-ami',
              PulsarVersion: `3.2.${n}`,
              Validated: 'true',
              BuildExecutionArn: prodArn(n),
            },
          })),
          {
            name: 'pulsar-base-3.0.5-20250101000000',
            createdAt: daysAgo(60),
            tags: { ManagedBy: 'pulsar-ami', PulsarVersion: '3.0.5', Validated: 'true' },
          },
        ],
      })
    ).images.map((i) => i.imageId);
    const [rollback] = prod.slice(3);
    await ssm.send(
      new PutParameterCommand({
        Name: '/pulsar-ami/prod/versions/3.0.5/latest-ami-id',
        Value: rollback,
        Type: 'String',
        DataType: 'aws:ec2:image',
      }),
    );
    const settings = cleanupSettings(loadConfig({ STAGE: 'dev', AWS_REGION: 'us-west-2' }));
    const plan = await planCleanup({ ec2: e2e.ec2, ssm, autoScaling }, settings);
    const actions = new Map(plan.decisions.map((d) => [d.imageId, [d.action, d.reason]]));
    expect(prod.map((id) => actions.get(id))).toEqual([
      ['keep', 'built by another stage (pulsar-ami-prod-build-ami)'],
      ['keep', 'built by another stage (pulsar-ami-prod-build-ami)'],
      ['keep', 'built by another stage (pulsar-ami-prod-build-ami)'],
      ['keep', 'published by another stage (/pulsar-ami/prod/versions/3.0.5/latest-ami-id)'],
    ]);
    // Dev's newest 3 are dev's own: prod's newer builds take none of them.
    expect(ids.map((id) => actions.get(id)?.[0])).toEqual([
      'keep',
      'keep',
      'keep',
      'delete',
      'delete',
      'delete',
      'delete',
    ]);

    const { executionArn = '' } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: MACHINE,
        name: 'cleanup-e2e-stages',
        input: JSON.stringify({ source: 'api' }),
      }),
    );
    await e2e.control('POST', 'executions/wait', { executionArns: [executionArn], timeoutMs: 25_000 });
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect(execution.status, execution.cause).toBe('SUCCEEDED');
    const left = new Set((await state())?.images.map((i) => i.imageId));
    expect(prod.filter((id) => !left.has(id))).toEqual([]);
    expect(ids.filter((id) => left.has(id))).toEqual(ids.slice(0, 3));
  });

  it('an input the machine refuses fails at its first state, changing nothing', async () => {
    await seed();
    const before = await state();
    const { executionArn = '' } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: MACHINE,
        name: 'cleanup-e2e-bad',
        input: JSON.stringify({ source: 'api', keep: 0 }),
      }),
    );
    await e2e.control('POST', 'executions/wait', { executionArns: [executionArn], timeoutMs: 25_000 });
    const execution = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    expect([execution.status, execution.error]).toEqual(['FAILED', 'InvalidInputError']);
    expect(await state()).toEqual(before);
  });
});

describe('a plan over 10,000 images', () => {
  it('pages DescribeImages at 1,000, asks about use ten a call for the candidates only, and reads nothing per image', async () => {
    // A minute apart, the newest ten days old: none younger than the minimum age.
    await e2e.control('POST', 'images', {
      count: 10_000,
      images: [{ name: 'batch', createdAt: daysAgo(10) }],
    });
    await e2e.control('DELETE', 'calls');
    const settings = cleanupSettings(loadConfig({ STAGE: 'dev', AWS_REGION: 'us-west-2' }));
    const started = Date.now();
    const plan = await planCleanup({ ec2: e2e.ec2, ssm, autoScaling }, settings);
    const took = Date.now() - started;
    expect(plan.totals).toMatchObject({ images: 10_000, keep: 3, delete: 9_997 });
    const count = new Map<string, number>();
    for (const call of await e2e.calls()) count.set(call.action, (count.get(call.action) ?? 0) + 1);
    expect(Object.fromEntries(count)).toEqual({
      // Two ownership queries (tagged, and named pulsar-base-*), ten pages each.
      DescribeImages: 20,
      GetParameter: 1,
      // This stage's version parameters, then every stage's under /pulsar-ami.
      GetParametersByPath: 2,
      DescribeImageReferences: 1_000,
      DescribeLaunchConfigurations: 1,
      // This tool's snapshots (what the 9,997 deletes free), ten pages of 1,000; then the orphans.
      DescribeSnapshots: 11,
    });
    expect(took).toBeLessThan(30_000);
  }, 60_000);
});

describe('the sandbox’s Auto Scaling launch configurations', () => {
  it('creates, pages (MaxRecords, NextToken), filters by name and deletes, with Auto Scaling’s errors', async () => {
    const { ids } = await seed();
    for (const name of ['lc-a', 'lc-b', 'lc-c']) {
      await autoScaling.send(
        new CreateLaunchConfigurationCommand({
          LaunchConfigurationName: name,
          ImageId: ids[0],
          InstanceType: 't3.micro',
        }),
      );
    }
    const first = await autoScaling.send(new DescribeLaunchConfigurationsCommand({ MaxRecords: 2 }));
    expect(first.LaunchConfigurations?.map((lc) => [lc.LaunchConfigurationName, lc.ImageId])).toEqual([
      ['lc-a', ids[0]],
      ['lc-b', ids[0]],
    ]);
    expect(first.LaunchConfigurations?.[0]?.LaunchConfigurationARN).toMatch(
      /^arn:aws:autoscaling:us-west-2:123456789012:launchConfiguration:[0-9a-f-]{36}:launchConfigurationName\/lc-a$/,
    );
    const second = await autoScaling.send(
      new DescribeLaunchConfigurationsCommand({ MaxRecords: 2, NextToken: first.NextToken }),
    );
    expect(second.LaunchConfigurations?.map((lc) => lc.LaunchConfigurationName)).toEqual(['lc-c']);
    expect(second.NextToken).toBeUndefined();
    const named = await autoScaling.send(
      new DescribeLaunchConfigurationsCommand({ LaunchConfigurationNames: ['lc-b', 'nope'] }),
    );
    expect(named.LaunchConfigurations?.map((lc) => lc.LaunchConfigurationName)).toEqual(['lc-b']);

    const fail = (p: Promise<unknown>) =>
      p.then(
        () => null,
        (e: Error) => [e.name, e.message],
      );
    expect(
      await fail(
        autoScaling.send(
          new CreateLaunchConfigurationCommand({
            LaunchConfigurationName: 'lc-a',
            ImageId: ids[0],
            InstanceType: 't3.micro',
          }),
        ),
      ),
    ).toEqual([
      // The SDK names the error by its modeled shape (code AlreadyExists).
      'AlreadyExistsFault',
      'Launch Configuration by this name already exists - A launch configuration already exists with the name lc-a',
    ]);
    expect(
      await fail(
        autoScaling.send(
          new CreateLaunchConfigurationCommand({
            LaunchConfigurationName: 'lc-x',
            ImageId: 'ami-0123456789abcdef0',
            InstanceType: 't3.micro',
          }),
        ),
      ),
    ).toEqual(['ValidationError', "The image id '[ami-0123456789abcdef0]' does not exist"]);
    expect(
      await fail(autoScaling.send(new DescribeLaunchConfigurationsCommand({ NextToken: 'forged' }))),
    ).toEqual(['InvalidNextToken', "The token 'forged' is invalid."]);
    await autoScaling.send(new DeleteLaunchConfigurationCommand({ LaunchConfigurationName: 'lc-a' }));
    expect(
      await fail(autoScaling.send(new DeleteLaunchConfigurationCommand({ LaunchConfigurationName: 'lc-a' }))),
    ).toEqual([
      'ValidationError',
      'Launch configuration name not found - Launch configuration lc-a not found',
    ]);
    const left = await autoScaling.send(new DescribeLaunchConfigurationsCommand({}));
    expect(left.LaunchConfigurations?.map((lc) => lc.LaunchConfigurationName)).toEqual(['lc-b', 'lc-c']);
    const calls = await e2e.calls();
    expect(calls.filter((c) => c.service === 'autoscaling').map((c) => c.action)).toContain(
      'DescribeLaunchConfigurations',
    );
  });
});
