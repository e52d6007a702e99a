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
  deleteAmi: ['@aws-sdk/client-ec2', '@aws-sdk/client-ssm'],
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
};

/**
 * KiB: measured (node 22, esbuild 0.28, the SDK's ES module builds with their schema modules
 * made tree-shakeable by scripts/esbuild/plugins.cjs) + ~15%, rounded up to 50.
 */
const MAX_KIB: Record<string, number> = {
  listAmis: 450, // 363
  getLatestAmi: 500, // 433
  getAmi: 450, // 361
  deleteAmi: 550, // 460
  startValidation: 500, // 409
  getValidation: 450, // 379
  startBuild: 500, // 411
  listBuilds: 450, // 370
  getBuild: 500, // 404
  getBuildLogs: 500, // 399
  evaluateCheckResults: 100, // 51
  republishLatest: 500, // 428
  terminateExecutionInstances: 550, // 476
  sweepValidationInstances: 450, // 369
  findExistingAmi: 400, // 338
  findBuildAmis: 400, // 337
  deleteFailedAmi: 550, // 459
  prepareValidation: 400, // 345
  publishAmi: 500, // 434
  copyAmiToRegion: 450, // 361
  getAmiCopyState: 400, // 335
  buildOutcome: 50, // 31
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
