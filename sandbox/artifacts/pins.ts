/**
 * What the project's own files pin, read from them so the store serves exactly that: the
 * OpenMessaging Benchmark commit and the download bases from the Packer template's variable
 * defaults (packer/*.pkr.hcl, parsed with the HCL parser), the Packer and Session Manager
 * plugin versions and their download bases from the buildspec's `env.variables`
 * (buildspec/build-ami.yml). Where a file or value is missing, the contract's defaults apply.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseHcl } from '@cdktf/hcl2json';
import { parse as parseYaml } from 'yaml';

export interface Pins {
  /** Base URL of the Apache archive (`<base>/pulsar/pulsar-V/…`). */
  archiveBaseUrl: string;
  /** OpenMessaging Benchmark commits served as source archives. */
  ombCommits: string[];
  /** Base URL of the source archives (`<base>/<commit>.tar.gz`). */
  ombArchiveBaseUrl: string;
  /** Packer versions served (`<releases>/packer/<V>/…`). */
  packerVersions: string[];
  packerReleasesUrl: string;
  /** Session Manager plugin versions (`<base>/<V>/linux_{64bit,arm64}/session-manager-plugin.rpm`). */
  ssmPluginVersions: string[];
  ssmPluginUrl: string;
}

export const DEFAULT_PINS: Pins = {
  archiveBaseUrl: 'https://archive.apache.org/dist',
  ombCommits: [],
  ombArchiveBaseUrl: 'https://github.com/openmessaging/benchmark/archive',
  packerVersions: [],
  packerReleasesUrl: 'https://releases.hashicorp.com',
  ssmPluginVersions: [],
  ssmPluginUrl: 'https://s3.amazonaws.com/session-manager-downloads/plugin',
};

const COMMIT = /^[0-9a-f]{40}$/;
const RELEASE = /^\d{1,4}\.\d{1,4}\.\d{1,4}(?:\.\d{1,6})?$/;

type Json = Record<string, unknown>;

/** A variable's literal default in hcl2json's shape (`variable.<name>[0].default`), if a plain string. */
function variableDefault(template: Json, name: string): string | undefined {
  const variables = template.variable as Record<string, Json[]> | undefined;
  const value = variables?.[name]?.[0]?.default;
  return typeof value === 'string' && !value.includes('${') ? value : undefined;
}

export async function readPins(repoRoot: string): Promise<Pins> {
  const pins: Pins = { ...DEFAULT_PINS, ombCommits: [], packerVersions: [], ssmPluginVersions: [] };
  const packerDir = join(repoRoot, 'packer');
  if (existsSync(packerDir)) {
    for (const file of readdirSync(packerDir).filter((f) => f.endsWith('.pkr.hcl'))) {
      const template = (await parseHcl(file, readFileSync(join(packerDir, file), 'utf8'))) as Json;
      const commit = variableDefault(template, 'omb_commit');
      if (commit && COMMIT.test(commit)) pins.ombCommits.push(commit);
      pins.archiveBaseUrl = variableDefault(template, 'archive_base_url') ?? pins.archiveBaseUrl;
      pins.ombArchiveBaseUrl = variableDefault(template, 'omb_archive_base_url') ?? pins.ombArchiveBaseUrl;
    }
  }
  const buildspec = join(repoRoot, 'buildspec', 'build-ami.yml');
  if (existsSync(buildspec)) {
    const spec = parseYaml(readFileSync(buildspec, 'utf8')) as {
      env?: { variables?: Record<string, unknown> };
    };
    const vars = spec.env?.variables ?? {};
    const text = (key: string) => (typeof vars[key] === 'string' ? (vars[key] as string) : undefined);
    const packer = text('PACKER_VERSION');
    if (packer && RELEASE.test(packer)) pins.packerVersions.push(packer);
    pins.packerReleasesUrl = text('PACKER_RELEASES_URL') ?? pins.packerReleasesUrl;
    const plugin = text('SSM_PLUGIN_VERSION');
    if (plugin && RELEASE.test(plugin)) pins.ssmPluginVersions.push(plugin);
    pins.ssmPluginUrl = text('SSM_PLUGIN_URL') ?? pins.ssmPluginUrl;
  }
  return pins;
}
