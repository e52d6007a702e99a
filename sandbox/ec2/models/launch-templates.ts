/**
 * Launch templates: versions numbered from 1 and never renumbered, a default version (1 until
 * ModifyLaunchTemplate moves it) and the latest (the highest number). Only ImageId and
 * InstanceType of LaunchTemplateData are kept; a new version inherits its SourceVersion's data.
 */
import {
  InvalidLaunchTemplateIdMalformed,
  InvalidLaunchTemplateIdNotFound,
  InvalidLaunchTemplateNameAlreadyExists,
  InvalidLaunchTemplateNameNotFound,
  InvalidLaunchTemplateVersionNotFound,
  InvalidParameterValue,
  MissingParameter,
} from '../../errors/ec2';
import type { LaunchTemplateRecord, LaunchTemplateVersionRecord, Tags } from '../../state';
import type { Ec2Scope } from './context';
import { compileFilters, type Filter, type FilterFields } from './filters';

const LAUNCH_TEMPLATE_ID = /^lt-[0-9a-f]{8,17}$/;
const NAME_PATTERN = /^[a-zA-Z0-9().\-/_]{3,128}$/;

export const latestVersion = (t: LaunchTemplateRecord): number => t.versions.at(-1)?.versionNumber ?? 1;

/** The template by id or by name (exactly one of them). */
export function findLaunchTemplate(
  scope: Ec2Scope,
  ref: { id?: string; name?: string },
): LaunchTemplateRecord {
  if (ref.id !== undefined && ref.id !== '') {
    if (!LAUNCH_TEMPLATE_ID.test(ref.id)) throw new InvalidLaunchTemplateIdMalformed(ref.id);
    const template = scope.region.launchTemplates.get(ref.id);
    if (!template) throw new InvalidLaunchTemplateIdNotFound(ref.id);
    return template;
  }
  if (ref.name !== undefined && ref.name !== '') {
    const template = [...scope.region.launchTemplates.values()].find((t) => t.name === ref.name);
    if (!template) throw new InvalidLaunchTemplateNameNotFound();
    return template;
  }
  throw new MissingParameter('LaunchTemplateId or LaunchTemplateName');
}

export interface LaunchTemplateDataInput {
  imageId?: string;
  instanceType?: string;
}

export function createLaunchTemplate(
  scope: Ec2Scope,
  input: { name: string; description?: string; data: LaunchTemplateDataInput; tags: Tags },
): LaunchTemplateRecord {
  if (!NAME_PATTERN.test(input.name)) {
    throw InvalidParameterValue.forParameter(
      'launchTemplateName',
      input.name,
      'A launch template name must be between 3 and 128 characters, and may contain letters, numbers, and the following characters: - ( ) . / _.',
    );
  }
  if ([...scope.region.launchTemplates.values()].some((t) => t.name === input.name)) {
    throw new InvalidLaunchTemplateNameAlreadyExists();
  }
  scope.checkpoint();
  const now = new Date().toISOString();
  const template: LaunchTemplateRecord = {
    launchTemplateId: scope.world.ids.next('lt'),
    name: input.name,
    createTime: now,
    createdBy: `arn:aws:iam::${scope.world.accountId}:user/pulsar-ami-sandbox`,
    defaultVersion: 1,
    versions: [
      {
        versionNumber: 1,
        createTime: now,
        data: { ...input.data },
        ...(input.description !== undefined ? { description: input.description } : {}),
      },
    ],
    tags: { ...input.tags },
  };
  scope.region.launchTemplates.set(template.launchTemplateId, template);
  return template;
}

/** `1`, `$Latest`, `$Default` → that version (VersionNotFound otherwise). */
function versionOf(template: LaunchTemplateRecord, raw: string): LaunchTemplateVersionRecord {
  const number =
    raw === '$Latest' ? latestVersion(template) : raw === '$Default' ? template.defaultVersion : Number(raw);
  const version = /^\$(Latest|Default)$|^\d+$/.test(raw)
    ? template.versions.find((v) => v.versionNumber === number)
    : undefined;
  if (!version) throw new InvalidLaunchTemplateVersionNotFound(template.launchTemplateId, raw);
  return version;
}

export function createLaunchTemplateVersion(
  scope: Ec2Scope,
  input: {
    template: { id?: string; name?: string };
    sourceVersion?: string;
    description?: string;
    data: LaunchTemplateDataInput;
  },
): { template: LaunchTemplateRecord; version: LaunchTemplateVersionRecord } {
  const template = findLaunchTemplate(scope, input.template);
  const source = input.sourceVersion !== undefined ? versionOf(template, input.sourceVersion).data : {};
  scope.checkpoint();
  const version: LaunchTemplateVersionRecord = {
    versionNumber: latestVersion(template) + 1,
    createTime: new Date().toISOString(),
    data: { ...source, ...input.data },
    ...(input.description !== undefined ? { description: input.description } : {}),
  };
  template.versions.push(version);
  return { template, version };
}

/** ModifyLaunchTemplate SetDefaultVersion. */
export function setDefaultVersion(
  scope: Ec2Scope,
  input: { template: { id?: string; name?: string }; version?: string },
): LaunchTemplateRecord {
  const template = findLaunchTemplate(scope, input.template);
  const version = input.version !== undefined ? versionOf(template, input.version) : undefined;
  scope.checkpoint();
  if (version) template.defaultVersion = version.versionNumber;
  return template;
}

const TEMPLATE_FILTERS: FilterFields<LaunchTemplateRecord> = {
  'launch-template-name': (t) => t.name,
  'create-time': (t) => t.createTime,
};

export function describeLaunchTemplates(
  scope: Ec2Scope,
  input: { ids: string[]; names: string[]; filters: Filter[] },
): LaunchTemplateRecord[] {
  const filter = compileFilters(input.filters, TEMPLATE_FILTERS, (t) => t.tags);
  const candidates = [
    ...input.ids.map((id) => findLaunchTemplate(scope, { id })),
    ...input.names.map((name) => findLaunchTemplate(scope, { name })),
  ];
  const all = candidates.length > 0 ? [...new Set(candidates)] : [...scope.region.launchTemplates.values()];
  scope.checkpoint();
  return all.filter(filter);
}

export interface VersionView {
  template: LaunchTemplateRecord;
  version: LaunchTemplateVersionRecord;
}

const VERSION_FILTERS: FilterFields<VersionView> = {
  'image-id': (v) => v.version.data.imageId,
  'instance-type': (v) => v.version.data.instanceType,
  'is-default-version': (v) => String(v.version.versionNumber === v.template.defaultVersion),
  'create-time': (v) => v.version.createTime,
};

/**
 * DescribeLaunchTemplateVersions of one template (by id or name): the versions asked
 * (numbers, `$Latest`, `$Default`), else those between MinVersion and MaxVersion, else all.
 */
export function describeLaunchTemplateVersions(
  scope: Ec2Scope,
  input: {
    template: { id?: string; name?: string };
    versions: string[];
    minVersion?: number;
    maxVersion?: number;
    filters: Filter[];
  },
): VersionView[] {
  const template = findLaunchTemplate(scope, input.template);
  const filter = compileFilters(input.filters, VERSION_FILTERS, (v) => v.template.tags);
  const chosen =
    input.versions.length > 0
      ? [...new Set(input.versions.map((raw) => versionOf(template, raw)))]
      : template.versions.filter(
          (v) =>
            (input.minVersion === undefined || v.versionNumber >= input.minVersion) &&
            (input.maxVersion === undefined || v.versionNumber <= input.maxVersion),
        );
  scope.checkpoint();
  return chosen.map((version) => ({ template, version })).filter(filter);
}
