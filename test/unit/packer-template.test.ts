/**
 * The Packer template, parsed with a real HCL parser (test/support/hcl.ts): the base image,
 * the communicator, the instance's settings, the image's tags and name, the provisioners
 * and the manifest, and that what the provisioners install is what the checks read.
 */
import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  expression,
  type HclObject,
  type HclValue,
  hcl,
  loadPackerTemplate,
  PACKER_DIR,
  type PackerTemplate,
  provisionerOrder,
  referencedVariables,
  resolveLocals,
  validationRegex,
} from '../support/hcl';

let t: PackerTemplate;
let source: HclObject;

beforeAll(async () => {
  t = await loadPackerTemplate();
  const ebs = t.sources['amazon-ebs'] ?? {};
  const names = Object.keys(ebs);
  expect(names).toHaveLength(1);
  source = ebs[names[0] as string] as HclObject;
});

const IMAGE_TAGS = [
  'Name',
  'PulsarVersion',
  'BuildDate',
  'ManagedBy',
  'Project',
  'Environment',
  'BuildExecutionArn',
  'BaseAmiId',
  'PulsarSha512',
  'PackerVersion',
  'BuildId',
  'Architecture',
];

function shellProvisioners() {
  return t.provisioners.filter((p) => p.type === 'shell');
}

function scriptOf(body: HclObject): string {
  expect(typeof body.script, 'each shell provisioner runs one script file').toBe('string');
  return body.script as string;
}

function envOf(body: HclObject): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of (body.environment_vars as string[] | undefined) ?? []) {
    const eq = entry.indexOf('=');
    expect(eq, `environment_vars entry ${entry}`).toBeGreaterThan(0);
    env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

function provisionerFor(script: string) {
  const found = shellProvisioners().find((p) => p.body.script === `scripts/${script}`);
  if (!found) throw new Error(`no shell provisioner runs scripts/${script}`);
  return found;
}

describe('packer block', () => {
  it('requires the amazon plugin from HashiCorp, with a version constraint', () => {
    const plugins = (t.packer.required_plugins as HclObject[])[0] as HclObject;
    const amazon = plugins.amazon as HclObject;
    expect(amazon.source).toBe('github.com/hashicorp/amazon');
    expect(amazon.version).toMatch(/\d+\.\d+/);
  });
});

describe('variables', () => {
  it('declares every variable the build sets, and every variable used is declared', () => {
    const contract = [
      'pulsar_version',
      'instance_type',
      'architecture',
      'region',
      'archive_base_url',
      'pulsar_sha512',
      'build_id',
      'build_execution_arn',
      'subnet_id',
      'security_group_id',
      'iam_instance_profile',
      'omb_commit',
      'manifest_path',
    ];
    for (const name of contract) expect(t.variables, name).toHaveProperty(name);
    const used = referencedVariables(t.raw);
    for (const name of used) expect(Object.keys(t.variables), `var.${name} is used`).toContain(name);
  });

  it('pulsar_version has no default and must be MAJOR.MINOR.PATCH', () => {
    const v = t.variables.pulsar_version;
    expect(v).toBeDefined();
    expect(v?.default).toBeUndefined();
    const re = validationRegex(v ?? {}, 'pulsar_version');
    for (const ok of ['3.0.0', '2.10.0', '10.20.30']) expect(re.test(ok), ok).toBe(true);
    for (const bad of ['3.0', '3.0.0-rc1', 'latest', ' 3.0.0', '3.0.0\n', ''])
      expect(re.test(bad), bad).toBe(false);
  });

  it('architecture defaults to x86_64 and is x86_64 or arm64', () => {
    const v = t.variables.architecture;
    expect(v?.default).toBe('x86_64');
    const re = validationRegex(v ?? {}, 'architecture');
    expect(re.test('x86_64')).toBe(true);
    expect(re.test('arm64')).toBe(true);
    for (const bad of ['i386', 'aarch64', 'x86_64 ', 'arm64x', '']) expect(re.test(bad), bad).toBe(false);
  });

  it('region defaults to the AWS_REGION environment variable', () => {
    expect(expression(t.variables.region?.default)).toBe('env("AWS_REGION")');
    const re = validationRegex(t.variables.region ?? {}, 'region');
    expect(re.test('us-west-2')).toBe(true);
    expect(re.test('ap-southeast-1')).toBe(true);
    expect(re.test('')).toBe(false);
  });

  it('the Apache archive is the default archive, the OMB commit a full pinned id', () => {
    expect(t.variables.archive_base_url?.default).toBe('https://archive.apache.org/dist');
    const commit = t.variables.omb_commit?.default;
    expect(commit).toMatch(/^[0-9a-f]{40}$/);
    expect(validationRegex(t.variables.omb_commit ?? {}, 'omb_commit').test(commit as string)).toBe(true);
    expect(t.variables.manifest_path?.default).toBe('packer-manifest.json');
  });

  it('the checksum variable takes only lower-case SHA-512 hex (or nothing)', () => {
    const re = validationRegex(t.variables.pulsar_sha512 ?? {}, 'pulsar_sha512');
    expect(re.test('a'.repeat(128))).toBe(true);
    expect(re.test('')).toBe(true);
    expect(re.test('A'.repeat(128))).toBe(false);
    expect(re.test('a'.repeat(127))).toBe(false);
  });

  it('the instance profile is required (Session Manager needs it)', () => {
    expect(t.variables.iam_instance_profile?.default).toBeUndefined();
    const re = validationRegex(t.variables.iam_instance_profile ?? {}, 'iam_instance_profile');
    expect(re.test('pulsar-ami-dev-build')).toBe(true);
    expect(re.test('')).toBe(false);
  });
});

describe('base image', () => {
  it("is the newest Amazon Linux 2023 for var.architecture, from AWS's public parameter", () => {
    const params = t.data['amazon-parameterstore'] ?? {};
    const [name, block] = Object.entries(params)[0] ?? [];
    expect(block?.name).toBe(
      hcl`/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-$\{var.architecture}`,
    );
    expect(expression(block?.region)).toBe('var.region');
    expect(expression(resolveLocals(t, source.source_ami))).toBe(`data.amazon-parameterstore.${name}.value`);
    expect(source).not.toHaveProperty('source_ami_filter');
  });

  it('builds in var.region on var.instance_type', () => {
    expect(expression(source.region)).toBe('var.region');
    expect(expression(source.instance_type)).toBe('var.instance_type');
  });
});

describe('build instance', () => {
  it('is reached through Session Manager with an instance profile, never over an open SSH port', () => {
    expect(source.communicator).toBe('ssh');
    expect(source.ssh_interface).toBe('session_manager');
    expect(expression(source.iam_instance_profile)).toBe('var.iam_instance_profile');
    // With session_manager and an instance profile the amazon builder adds no SSH rule to
    // the temporary group; these would open one or widen access.
    for (const key of [
      'temporary_security_group_source_cidrs',
      'temporary_security_group_source_public_ip',
      'ssh_port',
      'ssh_keypair_name',
      'associate_public_ip_address',
      'pause_before_ssm',
    ]) {
      expect(source, key).not.toHaveProperty(key);
    }
  });

  it('uses the given security group when there is one, else none of its own', () => {
    expect(expression(source.security_group_ids)).toBe(
      'var.security_group_id == "" ? [] : [var.security_group_id]',
    );
    expect(expression(source.subnet_id)).toBe('var.subnet_id == "" ? null : var.subnet_id');
  });

  it('terminates itself on shutdown', () => {
    expect(source.shutdown_behavior).toBe('terminate');
  });

  it('requires IMDSv2, and the image asks for it too', () => {
    const md = (source.metadata_options as HclObject[])[0] as HclObject;
    expect(md.http_tokens).toBe('required');
    expect(md.http_endpoint).toBe('enabled');
    expect(md.http_put_response_hop_limit).toBe(1);
    expect(source.imds_support).toBe('v2.0');
  });

  it('has an encrypted gp3 root volume deleted with the instance', () => {
    const mappings = source.launch_block_device_mappings as HclObject[];
    expect(mappings).toHaveLength(1);
    const root = mappings[0] as HclObject;
    expect(root.device_name).toBe('/dev/xvda');
    expect(root.volume_type).toBe('gp3');
    expect(root.encrypted).toBe(true);
    expect(root.delete_on_termination).toBe(true);
  });

  it('is tagged as a build instance of this build (and so are its volumes)', () => {
    for (const key of ['run_tags', 'run_volume_tags']) {
      const tags = source[key] as HclObject;
      expect(tags.Name, key).toBe(hcl`pulsar-ami-build-$\{var.pulsar_version}`);
      expect(tags.ManagedBy, key).toBe('pulsar-ami');
      expect(tags.Purpose, key).toBe('AMI-Build');
      expect(expression(tags.BuildExecutionArn), key).toBe('var.build_execution_arn');
      expect(expression(tags.BuildId), key).toBe('var.build_id');
    }
  });
});

describe('image', () => {
  it('is named pulsar-base-{VERSION}-{YYYYMMDDhhmmss} from one clock reading', () => {
    const name = resolveLocals(t, source.ami_name);
    expect(name).toBe(
      hcl`pulsar-base-$\{var.pulsar_version}-$\{formatdate("YYYYMMDDhhmmss", local.build_time)}`,
    );
    expect(expression(t.locals.build_time)).toBe('timestamp()');
  });

  it('carries every documented tag and the provenance on the AMI and on its snapshots', () => {
    for (const key of ['tags', 'snapshot_tags']) {
      const tags = source[key] as HclObject;
      expect(Object.keys(tags).sort(), key).toEqual([...IMAGE_TAGS].sort());
      expect(resolveLocals(t, tags.Name), key).toBe(resolveLocals(t, source.ami_name));
      expect(expression(tags.PulsarVersion), key).toBe('var.pulsar_version');
      // timestamp() is RFC 3339 UTC: ISO 8601.
      expect(expression(resolveLocals(t, tags.BuildDate)), key).toBe('timestamp()');
      expect(tags.ManagedBy, key).toBe('pulsar-ami');
      expect(tags.Project, key).toBe('pulsar-aws-lab');
      expect(tags.Environment, key).toBe('lab');
      expect(expression(tags.BuildExecutionArn), key).toBe('var.build_execution_arn');
      expect(expression(tags.BuildId), key).toBe('var.build_id');
      expect(resolveLocals(t, tags.BaseAmiId), key).toBe(resolveLocals(t, source.source_ami));
      expect(expression(tags.PulsarSha512), key).toBe('var.pulsar_sha512');
      expect(expression(tags.PackerVersion), key).toBe('packer.version');
      expect(expression(tags.Architecture), key).toBe('var.architecture');
    }
  });
});

describe('provisioners', () => {
  it('upload the templates, then install Java, Pulsar, the benchmark and the templates, in that order', () => {
    expect(t.provisioners.map((p) => (p.type === 'shell' ? p.body.script : p.type))).toEqual([
      'file',
      'scripts/install-java.sh',
      'scripts/install-pulsar.sh',
      'scripts/install-omb.sh',
      'scripts/install-templates.sh',
    ]);
  });

  it('run scripts that exist, are executable bash with set -euo pipefail, under sudo -E bash with pipefail', () => {
    for (const { body } of shellProvisioners()) {
      const path = join(PACKER_DIR, scriptOf(body));
      expect(existsSync(path), path).toBe(true);
      accessSync(path, constants.X_OK);
      const text = readFileSync(path, 'utf8');
      expect(text.startsWith('#!/usr/bin/env bash\n'), path).toBe(true);
      expect(text).toMatch(/^set -euo pipefail$/m);
      const exec = body.execute_command as string;
      expect(exec).toContain('{{ .Vars }} sudo -E bash -o pipefail');
      expect(exec).toContain("'{{ .Path }}'");
    }
  });

  it('pass each script the variables it reads, from the template variables', () => {
    const pulsar = envOf(provisionerFor('install-pulsar.sh').body);
    expect(pulsar).toEqual({
      PULSAR_VERSION: hcl`$\{var.pulsar_version}`,
      ARCHIVE_BASE_URL: hcl`$\{var.archive_base_url}`,
      PULSAR_SHA512: hcl`$\{var.pulsar_sha512}`,
      PULSAR_INSTALL_DIR: '/opt/pulsar',
    });
    const omb = envOf(provisionerFor('install-omb.sh').body);
    expect(omb.OMB_COMMIT).toBe(hcl`$\{var.omb_commit}`);
    expect(omb.OMB_ARCHIVE_BASE_URL).toBe(hcl`$\{var.omb_archive_base_url}`);
    for (const { body } of shellProvisioners()) {
      const text = readFileSync(join(PACKER_DIR, scriptOf(body)), 'utf8');
      for (const name of Object.keys(envOf(body))) {
        expect(text, `${body.script} reads ${name}`).toMatch(new RegExp(`\\$\\{${name}[:}]`));
      }
    }
  });

  it('upload the systemd templates where install-templates.sh takes them from', () => {
    const file = t.provisioners.find((p) => p.type === 'file')?.body as HclObject;
    const src = file.source as string;
    expect(src.endsWith('/'), 'no trailing slash: the folder itself is uploaded').toBe(false);
    const uploaded = `${file.destination as string}/${src.split('/').pop()}`;
    expect(envOf(provisionerFor('install-templates.sh').body).TEMPLATES_UPLOAD_DIR).toBe(uploaded);
    expect(readdirSync(join(PACKER_DIR, src)).sort()).toEqual([
      'bookkeeper.service.tpl',
      'broker.service.tpl',
      'zookeeper.service.tpl',
    ]);
  });

  it('install exactly the paths packer/checks/run-checks.sh reads', () => {
    const checks = readFileSync(join(PACKER_DIR, 'checks', 'run-checks.sh'), 'utf8');
    const constant = (name: string) => new RegExp(`^${name}=(\\S+)$`, 'm').exec(checks)?.[1];
    expect(envOf(provisionerFor('install-pulsar.sh').body).PULSAR_INSTALL_DIR).toBe(constant('PULSAR_HOME'));
    expect(envOf(provisionerFor('install-templates.sh').body).TEMPLATES_DIR).toBe(constant('TEMPLATES_DIR'));
    expect(envOf(provisionerFor('install-omb.sh').body).OMB_INSTALL_DIR).toBe(constant('OMB_HOME'));
  });
});

describe('systemd templates', () => {
  function unit(name: string): Record<string, Record<string, string[]>> {
    const sections: Record<string, Record<string, string[]>> = {};
    let current: Record<string, string[]> | undefined;
    for (const line of readFileSync(join(PACKER_DIR, 'files', 'systemd', name), 'utf8').split('\n')) {
      const trimmed = line.trim();
      if (trimmed === '' || trimmed.startsWith('#')) continue;
      const section = /^\[(\w+)\]$/.exec(trimmed);
      if (section?.[1]) {
        current = {};
        sections[section[1]] = current;
        continue;
      }
      const eq = trimmed.indexOf('=');
      if (!current || eq < 1) throw new Error(`${name}: not a unit file line: ${line}`);
      const key = trimmed.slice(0, eq);
      current[key] = [...(current[key] ?? []), trimmed.slice(eq + 1)];
    }
    return sections;
  }

  it.each([
    ['zookeeper.service.tpl', 'zookeeper'],
    ['bookkeeper.service.tpl', 'bookie'],
    ['broker.service.tpl', 'broker'],
  ])('%s runs /opt/pulsar/bin/pulsar %s, restarts on failure, raises the file limit', (name, command) => {
    const u = unit(name);
    expect(Object.keys(u)).toEqual(['Unit', 'Service', 'Install']);
    expect(u.Service?.ExecStart).toEqual([`/opt/pulsar/bin/pulsar ${command}`]);
    expect(u.Service?.Restart).toEqual(['on-failure']);
    expect(Number(u.Service?.LimitNOFILE?.[0])).toBeGreaterThanOrEqual(65536);
    expect(u.Install?.WantedBy).toEqual(['multi-user.target']);
    expect(u.Unit?.Description?.[0]).toMatch(/Pulsar/);
  });
});

describe('manifest', () => {
  it('is written to var.manifest_path with the image name and version for the buildspec', () => {
    const manifests = t.postProcessors.manifest ?? [];
    expect(manifests).toHaveLength(1);
    const m = manifests[0] as HclObject;
    expect(expression(m.output)).toBe('var.manifest_path');
    expect(m.strip_path).toBe(true);
    const custom = m.custom_data as Record<string, HclValue>;
    expect(resolveLocals(t, custom.ami_name)).toBe(resolveLocals(t, source.ami_name));
    expect(expression(custom.pulsar_version)).toBe('var.pulsar_version');
  });
});

describe('the HCL helper', () => {
  it('orders provisioners by their place in the build block, not by type', () => {
    const order = provisionerOrder(`
      # provisioner "shell" {} in a comment does not count
      build {
        sources = ["x"]
        provisioner "shell" { inline = ["echo \\"} provisioner \\"file\\" {\\"", "\${var.a == "}" ? 1 : 2}"] }
        provisioner "file" {
          source = "a"
          nested { provisioner "shell" {} }
        }
        provisioner "shell" { script = "b" }
      }
      provisioner "file" {}
    `);
    expect(order).toEqual(['shell', 'file', 'shell']);
  });
});
