/**
 * Each Lambda bundle (serverless.yml's functions, its custom.esbuild options) carries only
 * the SDK clients its function uses, none of the CLI-only packages, and stays within a size
 * bound: the size measured when the clients were split (bench/lambda-bundles.ts), plus about
 * 15%. A bundle that outgrows its bound, or picks up a client, fails here.
 */
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleOptions, type LambdaFunction, lambdaFunctions, packagesIn } from '../../bench/lambda-bundles';

/** The SDK clients each function's bundle holds, exactly. */
const CLIENTS: Record<string, string[]> = {
  listAmis: ['@aws-sdk/client-ec2'],
  getLatestAmi: ['@aws-sdk/client-ec2', '@aws-sdk/client-ssm'],
  getAmi: ['@aws-sdk/client-ec2'],
  deleteAmi: ['@aws-sdk/client-auto-scaling', '@aws-sdk/client-ec2', '@aws-sdk/client-ssm'],
  startValidation: ['@aws-sdk/client-ec2', '@aws-sdk/client-sfn'],
  getValidation: ['@aws-sdk/client-sfn'],
  evaluateCheckResults: [],
  republishLatest: ['@aws-sdk/client-ec2', '@aws-sdk/client-ssm'],
  terminateExecutionInstances: ['@aws-sdk/client-ec2', '@aws-sdk/client-codebuild', '@aws-sdk/client-ssm'],
  sweepValidationInstances: ['@aws-sdk/client-ec2'],
  // BuildAmi's Lambdas
  findExistingAmi: ['@aws-sdk/client-ec2'],
  findBuildAmis: ['@aws-sdk/client-ec2'],
  deleteFailedAmi: ['@aws-sdk/client-ec2', '@aws-sdk/client-ssm'],
  prepareValidation: ['@aws-sdk/client-ec2'],
  publishAmi: ['@aws-sdk/client-ec2', '@aws-sdk/client-ssm'],
  copyAmiToRegion: ['@aws-sdk/client-ec2'],
  getAmiCopyState: ['@aws-sdk/client-ec2'],
  buildOutcome: [],
  startBuild: ['@aws-sdk/client-ec2', '@aws-sdk/client-sfn'],
  listBuilds: ['@aws-sdk/client-sfn'],
  getBuild: ['@aws-sdk/client-codebuild', '@aws-sdk/client-sfn'],
  getBuildLogs: ['@aws-sdk/client-cloudwatch-logs', '@aws-sdk/client-sfn'],
  // CleanupAmis' Lambdas
  planCleanup: [
    '@aws-sdk/client-auto-scaling',
    '@aws-sdk/client-ec2',
    '@aws-sdk/client-sfn',
    '@aws-sdk/client-ssm',
  ],
  retireAmi: ['@aws-sdk/client-auto-scaling', '@aws-sdk/client-ec2', '@aws-sdk/client-ssm'],
  deleteOrphanedSnapshot: ['@aws-sdk/client-ec2'],
  reportCleanup: [],
  // The cleanup API
  startCleanup: [
    '@aws-sdk/client-auto-scaling',
    '@aws-sdk/client-ec2',
    '@aws-sdk/client-sfn',
    '@aws-sdk/client-ssm',
  ],
  getCleanup: ['@aws-sdk/client-sfn'],
  restoreAmi: ['@aws-sdk/client-ec2'],
};

/**
 * KiB: measured (node 22, esbuild 0.28, the SDK's ES module builds with their schema modules
 * made tree-shakeable by scripts/esbuild/plugins.cjs; Powertools Tracer's aws-xray-sdk-core ~68
 * and Metrics ~10 in each function with a client) + ~15%, rounded up to 50.
 */
const MAX_KIB: Record<string, number> = {
  listAmis: 600, // 484
  getLatestAmi: 650, // 554
  getAmi: 600, // 483
  deleteAmi: 700, // 621 (with the Auto Scaling client: launch configurations)
  startValidation: 650, // 543
  getValidation: 600, // 500
  startBuild: 650, // 545
  listBuilds: 600, // 491
  getBuild: 650, // 526
  getBuildLogs: 600, // 521
  evaluateCheckResults: 100, // 61
  republishLatest: 650, // 549
  terminateExecutionInstances: 750, // 609
  sweepValidationInstances: 600, // 501
  findExistingAmi: 550, // 460
  findBuildAmis: 550, // 459
  deleteFailedAmi: 700, // 591
  prepareValidation: 550, // 468
  publishAmi: 650, // 555
  copyAmiToRegion: 600, // 481
  getAmiCopyState: 550, // 457
  buildOutcome: 50, // 31
  planCleanup: 700, // 604
  retireAmi: 750, // 624
  deleteOrphanedSnapshot: 600, // 481
  reportCleanup: 50, // 27
  startCleanup: 800, // the planner's reads of EC2, SSM and Auto Scaling, and Step Functions
  getCleanup: 600, // 495
  restoreAmi: 600, // 484
};

/** Packages only the CLI uses; a Lambda has its credentials from the runtime. */
const CLI_ONLY = ['@aws-sdk/client-cloudformation', '@aws-sdk/credential-providers'];

interface Bundle extends LambdaFunction {
  bytes: number;
  packages: string[];
}

const functions = lambdaFunctions();
const bundles = new Map<string, Bundle>();

beforeAll(async () => {
  await Promise.all(
    functions.map(async (fn) => {
      const { metafile, outputFiles } = await build({
        ...bundleOptions(),
        entryPoints: [fn.entry],
        write: false,
        outfile: `${fn.name}.js`,
      });
      const bytes = (outputFiles ?? []).reduce((sum, file) => sum + file.contents.byteLength, 0);
      bundles.set(fn.name, { ...fn, bytes, packages: metafile ? [...packagesIn(metafile).keys()] : [] });
    }),
  );
  // Some twenty bundles: on a busy two-core machine this outlasts the default hook timeout.
}, 600_000);

const bundle = (name: string): Bundle => {
  const found = bundles.get(name);
  if (!found) throw new Error(`no bundle for ${name}`);
  return found;
};

describe('Lambda bundles', () => {
  it('every function of serverless.yml has its clients and a size bound listed here', () => {
    const names = functions.map((f) => f.name).sort();
    expect(names).toEqual(Object.keys(CLIENTS).sort());
    expect(names).toEqual(Object.keys(MAX_KIB).sort());
  });

  it.each(Object.entries(CLIENTS))('%s bundles exactly the SDK clients it uses', (name, clients) => {
    const found = bundle(name).packages.filter((p) => p.startsWith('@aws-sdk/client-'));
    expect(found.sort()).toEqual([...clients].sort());
  });

  it('the API reads of AMIs and the safety nets carry no Step Functions client', () => {
    for (const name of [
      'listAmis',
      'getAmi',
      'getLatestAmi',
      'deleteAmi',
      'terminateExecutionInstances',
      'sweepValidationInstances',
    ]) {
      expect(bundle(name).packages, name).not.toContain('@aws-sdk/client-sfn');
    }
  });

  it('reading a validation carries neither the EC2 nor the SSM client', () => {
    expect(bundle('getValidation').packages).not.toContain('@aws-sdk/client-ec2');
    expect(bundle('getValidation').packages).not.toContain('@aws-sdk/client-ssm');
  });

  it('evaluating check results carries no SDK client at all', () => {
    expect(bundle('evaluateCheckResults').packages.filter((p) => p.startsWith('@aws-sdk/client-'))).toEqual(
      [],
    );
  });

  it('no bundle carries a CLI-only package', () => {
    for (const b of bundles.values()) {
      for (const pkg of CLI_ONLY) expect(b.packages, b.name).not.toContain(pkg);
    }
  });

  it.each(Object.entries(MAX_KIB))('%s stays under %i KiB', (name, max) => {
    expect(bundle(name).bytes / 1024).toBeLessThan(max);
  });
});
