/**
 * The sandbox's Packer reading HCL: expressions evaluated through the real parser's syntax tree,
 * and the project's own template (packer/pulsar-base.pkr.hcl) evaluated as a build would see it:
 * variables from defaults, PKR_VAR_ and -var with their validations, the base image from the
 * sandbox's public SSM parameter, the image name, tags, build instance and provisioners.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: HCL templates are the subject here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TAG } from '../../functions/lib/ami';
import {
  DEFAULT_EXECUTE_COMMAND,
  ebsConfig,
  evaluateBody,
  postProcessorConfig,
  provisionerConfig,
  Session,
  type ShellProvisioner,
} from '../../sandbox/packer/config';
import {
  evaluate,
  formatDate,
  HclError,
  isUnknown,
  type Scope,
  templateSource,
  UNKNOWN,
  type Value,
} from '../../sandbox/packer/hcl';
import { humanDuration, satisfies } from '../../sandbox/packer/index';
import { flattenedVars, renderExecuteCommand } from '../../sandbox/packer/provision';
import {
  buildBlockOrder,
  checkVariables,
  loadTemplate,
  resolveVariables,
  type Template,
} from '../../sandbox/packer/template';
import { seedAmazonLinux } from '../../sandbox/seed';
import { World } from '../../sandbox/world';

const TEMPLATE = join(import.meta.dirname, '..', '..', 'packer', 'pulsar-base.pkr.hcl');
const NOW = new Date('2026-03-04T05:06:07.890Z');

function scope(vars: Record<string, Value> = {}, extra: Partial<Scope> = {}): Scope {
  return {
    variable: (name) => {
      if (!(name in vars)) throw new HclError('Reference to undeclared input variable', name);
      return vars[name] as Value;
    },
    local: async (name) => {
      throw new HclError('Reference to undeclared local value', name);
    },
    data: async () => UNKNOWN,
    root: (name) => (name === 'packer' ? { version: '1.11.2' } : undefined),
    now: NOW,
    ...extra,
  };
}

async function errorOf(promise: Promise<unknown>): Promise<HclError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof HclError) return error;
    throw error;
  }
  throw new Error('expected an HclError');
}

describe('expressions', () => {
  it('evaluates literals, string templates and their escapes', async () => {
    expect(await evaluate('plain', scope())).toBe('plain');
    expect(await evaluate('a-${var.v}-b', scope({ v: '3.0.0' }))).toBe('a-3.0.0-b');
    expect(await evaluate('${var.n}', scope({ n: 20 }))).toBe(20);
    expect(await evaluate('keep $${literal} and %%{this}', scope())).toBe('keep ${literal} and %{this}');
    expect(await evaluate('say "hi" \\ ${var.v}\n', scope({ v: 'x' }))).toBe('say "hi" \\ x\n');
    expect(await evaluate('${"q\\"uote\\n"}', scope())).toBe('q"uote\n');
    expect(await evaluate([1, '${true}', null], scope())).toEqual([1, true, null]);
    expect(await evaluate({ Name: 'n-${var.v}' }, scope({ v: 'a' }))).toEqual({ Name: 'n-a' });
    expect(templateSource('no sequence')).toBeNull();
  });

  it('evaluates conditionals, operators, collections and for expressions', async () => {
    const s = scope({ arch: 'arm64', sg: '', list: ['a', 'b'], m: { k: 'v', x: '' } });
    expect(await evaluate('${var.arch == "arm64" ? "aarch64" : "x86_64"}', s)).toBe('aarch64');
    expect(await evaluate('${var.sg == "" ? [] : [var.sg]}', s)).toEqual([]);
    expect(await evaluate('${var.sg == "" ? null : var.sg}', s)).toBeNull();
    expect(await evaluate('${(1 + 2) * -3 >= -9 && !false}', s)).toBe(true);
    expect(await evaluate('${var.list[1]}', s)).toBe('b');
    expect(await evaluate('${var.m["k"]}', s)).toBe('v');
    expect(await evaluate('${{ a = "b", "c" = var.arch }}', s)).toEqual({ a: 'b', c: 'arm64' });
    expect(await evaluate('${[for x in var.list : upper(x)]}', s)).toEqual(['A', 'B']);
    expect(await evaluate('${{ for k, v in var.m : k => v if v != "" }}', s)).toEqual({ k: 'v' });
    expect(await evaluate('%{ if var.arch == "arm64" }arm%{ else }x86%{ endif }', s)).toBe('arm');
  });

  it("evaluates Packer's functions, timestamp() once per run", async () => {
    const s = scope({ v: '3.0.0' });
    expect(await evaluate('${timestamp()}', s)).toBe('2026-03-04T05:06:07Z');
    expect(await evaluate('${formatdate("YYYYMMDDhhmmss", timestamp())}', s)).toBe('20260304050607');
    expect(await evaluate('${lower("AbC")}${upper("x")}', s)).toBe('abcX');
    expect(await evaluate('${replace(var.v, ".", "-")}', s)).toBe('3-0-0');
    expect(await evaluate('${replace("a1b22", "/[0-9]+/", "#")}', s)).toBe('a#b#');
    expect(await evaluate('${can(regex("^[0-9]+\\\\.[0-9]+\\\\.[0-9]+$", var.v))}', s)).toBe(true);
    expect(await evaluate('${can(regex("^x$", var.v))}', s)).toBe(false);
    expect(await evaluate('${try(var.missing, "fallback")}', s)).toBe('fallback');
    expect(await evaluate('${merge({ a = 1 }, { b = 2 })}', s)).toEqual({ a: 1, b: 2 });
    expect(await evaluate('${join(",", split(".", var.v))}', s)).toBe('3,0,0');
    expect(await evaluate('${length(var.v)}', s)).toBe(5);
    expect(await evaluate('${format("%s-%d", "a", 7)}', s)).toBe('a-7');
    expect(await evaluate('${packer.version}', s)).toBe('1.11.2');
    expect(formatDate("YYYY-MM-DD'T'hh:mm:ssZ EEE MMM", NOW)).toBe('2026-03-04T05:06:07Z Wed Mar');
  });

  it('propagates unknown values and refuses what it does not implement', async () => {
    const s = scope({}, { data: async () => UNKNOWN });
    expect(isUnknown(await evaluate('ami-${data.amazon-parameterstore.x.value}', s))).toBe(true);
    expect(isUnknown(await evaluate('${upper(data.amazon-parameterstore.x.value)}', s))).toBe(true);
    expect((await errorOf(evaluate('${nosuch(1)}', s))).summary).toBe('Call to unknown function');
    expect((await errorOf(evaluate('${env("HOME")}', s))).detail).toMatch(
      /only be used in a variable's default/,
    );
    expect((await errorOf(evaluate('${file("x")}', s))).summary).toBe('Unsupported function');
    expect((await errorOf(evaluate('${var.l[*].id}', scope({ l: [] })))).summary).toBe(
      'Unsupported expression',
    );
    expect((await errorOf(evaluate('${var.nope}', scope()))).summary).toBe(
      'Reference to undeclared input variable',
    );
    expect((await errorOf(evaluate('${var.l[3]}', scope({ l: [] })))).summary).toBe('Invalid index');
    expect((await errorOf(evaluate('${nothing.here}', scope()))).summary).toBe('Unknown variable');
  });

  it('reads version constraints and durations as Packer does', () => {
    expect(satisfies('1.11.2', '>= 1.10.0')).toBe(true);
    expect(satisfies('1.3.3', '~> 1.3')).toBe(true);
    expect(satisfies('2.0.0', '~> 1.3')).toBe(false);
    expect(satisfies('1.3.3', '~> 1.3.4')).toBe(false);
    expect(satisfies('1.11.2', '>= 1.10, < 1.11')).toBe(false);
    expect(humanDuration(2310)).toBe('2 seconds 310 milliseconds');
    expect(humanDuration(61_000)).toBe('1 minute 1 second');
  });
});

describe('the project template (packer/pulsar-base.pkr.hcl)', () => {
  let template: Template;
  let world: World;
  let amazonLinux: Record<'x86_64' | 'arm64', string>;
  const env = {
    AWS_REGION: 'us-west-2',
    PKR_VAR_pulsar_version: '3.0.0',
    PKR_VAR_iam_instance_profile: 'pulsar-ami-dev-build',
    PKR_VAR_build_id: 'build-abc',
    PKR_VAR_build_execution_arn: 'arn:aws:states:us-west-2:123456789012:execution:m:build-abc',
    PKR_VAR_pulsar_sha512: 'ab'.repeat(64),
  };

  beforeAll(async () => {
    template = await loadTemplate([{ name: 'pulsar-base.pkr.hcl', source: readFileSync(TEMPLATE, 'utf8') }]);
    world = new World();
    amazonLinux = seedAmazonLinux(world, world.region('us-west-2'));
  });
  afterAll(() => world.dispose());

  async function session(
    extra: Record<string, string> = {},
    vars: [string, string][] = [],
    mode: 'validate' | 'build' = 'build',
  ): Promise<Session> {
    const variables = await resolveVariables(template, {
      env: { ...env, ...extra },
      varFiles: [],
      vars,
      now: NOW,
    });
    await checkVariables(template, variables, NOW);
    return new Session({
      template,
      variables,
      mode,
      packerVersion: '1.11.2',
      templateDir: '/codebuild/output/src/packer',
      cwd: '/codebuild/output/src/packer',
      now: NOW,
      defaultRegion: 'us-west-2',
      region: (name) => world.region(name),
      accountId: world.accountId,
    });
  }

  async function source(s: Session, mode: 'validate' | 'build' = 'build') {
    const block = template.sources.get('amazon-ebs.pulsar');
    if (!block) throw new Error('no amazon-ebs.pulsar source');
    const context = { source: { name: 'pulsar', type: 'amazon-ebs' }, build: UNKNOWN };
    return ebsConfig(block, await evaluateBody(block.body, s.scope(context)), mode);
  }

  it('has one build: the file upload, four shell scripts and the manifest, in the template order', () => {
    const order = buildBlockOrder(readFileSync(TEMPLATE, 'utf8'));
    expect(order).toHaveLength(1);
    expect(template.builds[0]?.blocks.map((b) => `${b.kind} ${b.type}`)).toEqual([
      'provisioner file',
      'provisioner shell',
      'provisioner shell',
      'provisioner shell',
      'provisioner shell',
      'post-processor manifest',
    ]);
  });

  it('resolves variables: defaults, env() in a default, PKR_VAR_, then -var, each to its type', async () => {
    const values = await resolveVariables(template, {
      env: { ...env, PKR_VAR_root_volume_size: '30' },
      varFiles: [],
      vars: [['instance_type', 'm7g.large']],
      now: NOW,
    });
    expect(values.get('region')).toBe('us-west-2');
    expect(values.get('architecture')).toBe('x86_64');
    expect(values.get('archive_base_url')).toBe('https://archive.apache.org/dist');
    expect(values.get('root_volume_size')).toBe(30);
    expect(values.get('instance_type')).toBe('m7g.large');
    expect(values.get('omb_commit')).toMatch(/^[0-9a-f]{40}$/);
    expect(values.get('manifest_path')).toBe('packer-manifest.json');
  });

  it.each([
    [{ PKR_VAR_pulsar_version: '3.0' }, 'Invalid value for variable', /MAJOR\.MINOR\.PATCH/],
    [{ PKR_VAR_architecture: 'sparc' }, 'Invalid value for variable', /x86_64 or arm64/],
    [{ PKR_VAR_pulsar_sha512: 'XYZ' }, 'Invalid value for variable', /128 lower-case hex/],
    [{ PKR_VAR_iam_instance_profile: '' }, 'Invalid value for variable', /instance profile name/],
    [{ PKR_VAR_root_volume_size: 'big' }, 'Invalid value for variable', /must be number/],
  ])('refuses %o with Packer’s diagnostic', async (bad, summary, detail) => {
    const error = await errorOf(session(bad as Record<string, string>));
    expect(error.summary).toBe(summary);
    expect(error.detail).toMatch(detail);
    expect(error.render()).toMatch(new RegExp(`^Error: ${summary}`));
  });

  it('says which variable is unset, and refuses an undeclared -var', async () => {
    const unset = await errorOf(
      (async () => {
        const values = await resolveVariables(template, {
          env: { AWS_REGION: 'us-west-2' },
          varFiles: [],
          vars: [],
          now: NOW,
        });
        await checkVariables(template, values, NOW);
      })(),
    );
    expect(unset.summary).toMatch(/^Unset variable "(pulsar_version|iam_instance_profile)"$/);
    expect((await errorOf(session({}, [['nope', '1']]))).summary).toBe('Undefined -var variable');
  });

  it("takes the base image from AWS's public parameter for the architecture, in the build's region", async () => {
    const x86 = await session();
    expect(await x86.scope().local('base_ami_id')).toBe(amazonLinux.x86_64);
    const arm = await session({ PKR_VAR_architecture: 'arm64' });
    expect(await arm.scope().local('base_ami_id')).toBe(amazonLinux.arm64);
    const nowhere = await session({ PKR_VAR_region: 'ap-south-2' });
    // A region the world has not used yet has no seeded parameter in a world without the seed hook.
    const error = await errorOf(nowhere.scope().local('base_ami_id'));
    expect(error.summary).toBe('Datasource.Execute failed');
    expect(error.detail).toMatch(/ParameterNotFound/);
  });

  it('names the image pulsar-base-{VERSION}-{YYYYMMDDhhmmss} from one clock reading', async () => {
    const s = await session();
    expect(await s.scope().local('ami_name')).toBe('pulsar-base-3.0.0-20260304050607');
    expect(await s.scope().local('build_time')).toBe('2026-03-04T05:06:07Z');
  });

  it('configures the build instance and the image as docs/architecture.md section 4 says', async () => {
    const config = await source(await session());
    expect(config).toMatchObject({
      amiName: 'pulsar-base-3.0.0-20260304050607',
      instanceType: 't3.small',
      region: 'us-west-2',
      sourceAmi: amazonLinux.x86_64,
      sessionManager: true,
      sshUsername: 'ec2-user',
      iamInstanceProfile: 'pulsar-ami-dev-build',
      securityGroupIds: [],
      subnetId: undefined,
      shutdownBehavior: 'terminate',
      metadataOptions: { httpTokens: 'required', httpEndpoint: 'enabled' },
      launchDevices: [
        {
          deviceName: '/dev/xvda',
          volumeType: 'gp3',
          volumeSize: 20,
          encrypted: true,
          deleteOnTermination: true,
        },
      ],
    });
    expect(config.amiDescription).toMatch(/Apache Pulsar 3\.0\.0 on Amazon Linux 2023 \(x86_64\)/);
    const image = {
      Name: 'pulsar-base-3.0.0-20260304050607',
      [TAG.version]: '3.0.0',
      BuildDate: '2026-03-04T05:06:07Z',
      ManagedBy: 'pulsar-ami',
      Project: 'pulsar-aws-lab',
      Environment: 'lab',
      BuildExecutionArn: env.PKR_VAR_build_execution_arn,
      BuildId: 'build-abc',
      BaseAmiId: amazonLinux.x86_64,
      PulsarSha512: 'ab'.repeat(64),
      PackerVersion: '1.11.2',
      Architecture: 'x86_64',
    };
    expect(config.tags).toEqual(image);
    expect(config.snapshotTags).toEqual(image);
    expect(config.runTags).toEqual({
      Name: 'pulsar-ami-build-3.0.0',
      ManagedBy: 'pulsar-ami',
      Purpose: 'AMI-Build',
      BuildExecutionArn: env.PKR_VAR_build_execution_arn,
      BuildId: 'build-abc',
    });
    const withGroup = await source(
      await session({ PKR_VAR_security_group_id: 'sg-0123456789abcdef0', PKR_VAR_subnet_id: 'subnet-1' }),
    );
    expect(withGroup.securityGroupIds).toEqual(['sg-0123456789abcdef0']);
    expect(withGroup.subnetId).toBe('subnet-1');
  });

  it('validates without running the data source: the base image is unknown, nothing is refused', async () => {
    const s = await session({}, [], 'validate');
    expect(isUnknown(await s.scope().local('base_ami_id'))).toBe(true);
    const config = await source(s, 'validate');
    expect(config.sourceAmi).toBeUndefined();
    expect(config.amiName).toBe('pulsar-base-3.0.0-20260304050607');
  });

  it('reads the provisioners and the manifest post-processor, with their variables', async () => {
    const s = await session();
    const blocks = template.builds[0]?.blocks ?? [];
    const context = { source: { name: 'pulsar', type: 'amazon-ebs' }, build: UNKNOWN };
    const steps = [];
    for (const [i, block] of blocks.entries()) {
      const config = await evaluateBody(block.body, s.scope(context));
      steps.push(
        block.kind === 'post-processor'
          ? postProcessorConfig(block, config)
          : provisionerConfig(block, config, i),
      );
    }
    expect(steps[0]).toMatchObject({ type: 'file', sources: ['files/systemd'], destination: '/tmp' });
    const shells = steps.filter((p): p is ShellProvisioner => p.type === 'shell');
    expect(shells.map((p) => p.scripts[0])).toEqual([
      'scripts/install-java.sh',
      'scripts/install-pulsar.sh',
      'scripts/install-omb.sh',
      'scripts/install-templates.sh',
    ]);
    const pulsar = shells[1] as ShellProvisioner;
    expect(Object.fromEntries(pulsar.environment)).toEqual({
      PULSAR_VERSION: '3.0.0',
      ARCHIVE_BASE_URL: 'https://archive.apache.org/dist',
      PULSAR_SHA512: 'ab'.repeat(64),
      PULSAR_INSTALL_DIR: '/opt/pulsar',
    });
    const vars = flattenedVars(pulsar, 'pulsar', 'amazon-ebs');
    expect(vars).toBe(
      `ARCHIVE_BASE_URL='https://archive.apache.org/dist' PACKER_BUILDER_TYPE='amazon-ebs' PACKER_BUILD_NAME='pulsar' PULSAR_INSTALL_DIR='/opt/pulsar' PULSAR_SHA512='${'ab'.repeat(64)}' PULSAR_VERSION='3.0.0' `,
    );
    expect(renderExecuteCommand(pulsar.executeCommand, { Vars: vars, Path: '/tmp/script_1.sh' })).toBe(
      `chmod +x '/tmp/script_1.sh'; ${vars} sudo -E bash -o pipefail '/tmp/script_1.sh'`,
    );
    expect(renderExecuteCommand(DEFAULT_EXECUTE_COMMAND, { Vars: "A='1' ", Path: '/tmp/s.sh' })).toBe(
      "chmod +x /tmp/s.sh; A='1'  /tmp/s.sh",
    );
    expect(steps[5]).toMatchObject({
      type: 'manifest',
      output: 'packer-manifest.json',
      stripPath: true,
      customData: {
        ami_name: 'pulsar-base-3.0.0-20260304050607',
        pulsar_version: '3.0.0',
        architecture: 'x86_64',
        base_ami_id: amazonLinux.x86_64,
        build_id: 'build-abc',
      },
    });
  });

  it('refuses arguments it does not model instead of ignoring them', async () => {
    const block = template.sources.get('amazon-ebs.pulsar');
    if (!block) throw new Error('no source');
    const error = (() => {
      try {
        ebsConfig(
          block,
          { ami_name: 'pulsar-base-x', ami_regions: ['eu-west-1'], colour: 'red', source_ami: 'ami-1' },
          'validate',
        );
      } catch (e) {
        return e as HclError;
      }
      throw new Error('expected an error');
    })();
    expect(error.detail).toMatch(/ami_regions: the sandbox's Packer does not model this argument/);
    expect(error.detail).toMatch(/An argument named "colour" is not expected here/);
  });
});
