/**
 * Where an AMI is in use, by EC2's own DescribeImageReferences: instances that are not
 * terminated, launch templates (any version), SSM parameters and Image Builder image and
 * container recipes. Ten image ids a call (EC2's limit), every page followed. A launch template
 * reference says which of its versions name the image and which of those is the default or the
 * latest (DescribeImageReferences answers only the template's ARN). The stack's own parameters
 * (exactly the latest one and the version ones) are left out: the latest rule (republish) looks
 * after them. Any other parameter is a use, even one beside them.
 *
 * Auto Scaling launch configurations, which DescribeImageReferences does not report, are added
 * when a lookup is given (launch-configurations.ts: every page once for all the ids asked, one
 * call where the account has none), so that only the functions that use it carry its client.
 */
import {
  DescribeImageReferencesCommand,
  type DescribeImageReferencesCommandInput,
  DescribeLaunchTemplatesCommand,
  DescribeLaunchTemplateVersionsCommand,
  type LaunchTemplate,
  type LaunchTemplateVersion,
} from '@aws-sdk/client-ec2';
import type { Ec2 } from './ami-catalogue';
import { awsCall } from './errors';
import { isVersionParameter } from './latest-ami';

export type ImageReferenceKind =
  | 'instance'
  | 'launch-template'
  | 'ssm-parameter'
  | 'image-recipe'
  | 'container-recipe'
  | 'launch-configuration';

/** The launch configurations naming each of `imageIds` (launch-configurations.ts). */
export type LaunchConfigurationLookup = (
  imageIds: readonly string[],
) => Promise<Map<string, ImageReference[]>>;

export interface LaunchTemplateVersionRef {
  version: number;
  default: boolean;
  latest: boolean;
}

export interface ImageReference {
  kind: ImageReferenceKind;
  arn: string;
  /** Instance id, launch template id, parameter name, the recipe's `name/version`, or the launch configuration's name. */
  id: string;
  /** One phrase naming it: `launch template web (lt-…) version 3 (default, latest)`. */
  detail: string;
  /** Launch templates: the template's name. */
  name?: string;
  /** Launch templates: the versions that name the image (empty when they could not be read). */
  versions?: LaunchTemplateVersionRef[];
}

/** Every state in which an instance still holds on to its AMI (terminated ones do not). */
export const LIVE_INSTANCE_STATES = ['pending', 'running', 'shutting-down', 'stopping', 'stopped'];

/** DescribeImageReferences takes at most this many image ids a call. */
export const IMAGE_IDS_PER_CALL = 10;

/**
 * How many of a launch template's most recent versions EC2 checks: its maximum, so that a
 * default version older than the last ten (EC2's default depth) still counts.
 */
export const LAUNCH_TEMPLATE_VERSION_DEPTH = 10_000;

const KINDS: Record<string, ImageReferenceKind> = {
  'ec2:Instance': 'instance',
  'ec2:LaunchTemplate': 'launch-template',
  'ssm:Parameter': 'ssm-parameter',
  'imagebuilder:ImageRecipe': 'image-recipe',
  'imagebuilder:ContainerRecipe': 'container-recipe',
};

const RESOURCE_TYPES: DescribeImageReferencesCommandInput['ResourceTypes'] = [
  {
    ResourceType: 'ec2:Instance',
    ResourceTypeOptions: [{ OptionName: 'state-name', OptionValues: LIVE_INSTANCE_STATES }],
  },
  {
    ResourceType: 'ec2:LaunchTemplate',
    ResourceTypeOptions: [
      { OptionName: 'version-depth', OptionValues: [String(LAUNCH_TEMPLATE_VERSION_DEPTH)] },
    ],
  },
  { ResourceType: 'ssm:Parameter' },
  { ResourceType: 'imagebuilder:ImageRecipe' },
  { ResourceType: 'imagebuilder:ContainerRecipe' },
];

export interface ImageReferenceOptions {
  /**
   * The stack's own parameters (`ownParameters`): the exact latest parameter and the version
   * parameters. Any other parameter naming an image, wherever it lives, is a use.
   */
  isOwnParameter?: (name: string) => boolean;
  /** Auto Scaling launch configurations naming an image are references too. */
  launchConfigurations?: LaunchConfigurationLookup;
}

/**
 * Whether a parameter is one the stack writes itself (the latest rule republishes it): exactly
 * the latest parameter, and `{prefix}/{V}/latest-ami-id` and `{prefix}/{V}/arm64/latest-ami-id`
 * (latest-ami.ts isVersionParameter). Not a folder: `/pulsar-ami/dev/pinned/prod-ami-id` is a use.
 */
export function ownParameters(settings: {
  latestAmiParameter: string;
  versionParameterPrefix?: string;
}): (name: string) => boolean {
  return (name) =>
    name === settings.latestAmiParameter ||
    (settings.versionParameterPrefix !== undefined &&
      isVersionParameter(settings.versionParameterPrefix, name));
}

/** `arn:aws:ssm:r:acct:parameter/a/b` → `/a/b`; `…:parameter/name` → `name`. */
export function parameterNameOf(arn: string): string {
  const rest = arn.slice(arn.indexOf(':parameter/') + ':parameter/'.length);
  return rest.includes('/') ? `/${rest}` : rest;
}

/** The resource part after `type/` in an ARN (`instance/i-…` → `i-…`, `image-recipe/n/1.0.0` → `n/1.0.0`). */
function resourceIdOf(arn: string, type: string): string {
  const resource = arn.split(':').slice(5).join(':');
  return resource.startsWith(`${type}/`) ? resource.slice(type.length + 1) : resource;
}

function referenceOf(kind: ImageReferenceKind, arn: string): ImageReference {
  switch (kind) {
    case 'instance': {
      const id = resourceIdOf(arn, 'instance');
      return { kind, arn, id, detail: `instance ${id}` };
    }
    case 'launch-template': {
      const id = resourceIdOf(arn, 'launch-template');
      return { kind, arn, id, detail: `launch template ${id}` };
    }
    case 'ssm-parameter': {
      const id = parameterNameOf(arn);
      return { kind, arn, id, detail: `SSM parameter ${id}` };
    }
    case 'image-recipe': {
      const id = resourceIdOf(arn, 'image-recipe');
      return { kind, arn, id, detail: `Image Builder image recipe ${id}` };
    }
    case 'container-recipe': {
      const id = resourceIdOf(arn, 'container-recipe');
      return { kind, arn, id, detail: `Image Builder container recipe ${id}` };
    }
    case 'launch-configuration': {
      const id = arn.split(':launchConfigurationName/')[1] ?? arn;
      return { kind, arn, id, detail: `Auto Scaling launch configuration ${id}` };
    }
  }
}

const ec2Call = <T>(call: Promise<T>): Promise<T> => awsCall('EC2', call);

function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** `version 3 (default, latest)`, `versions 2, 5 (latest)`. */
export function versionsPhrase(versions: readonly LaunchTemplateVersionRef[]): string {
  if (versions.length === 0) return 'a version that could not be read';
  const one = (v: LaunchTemplateVersionRef) => {
    const marks = [v.default ? 'default' : '', v.latest ? 'latest' : ''].filter(Boolean);
    return marks.length > 0 ? `${v.version} (${marks.join(', ')})` : String(v.version);
  };
  return `${versions.length === 1 ? 'version' : 'versions'} ${versions.map(one).join(', ')}`;
}

const isNotFound = (error: unknown) => {
  const e = error as { name?: string; cause?: { name?: string } };
  return [e.name, e.cause?.name].some((n) => n?.startsWith('InvalidLaunchTemplateId.'));
};

/** Each template's name, default and latest version numbers (gone ones left out). */
async function describeTemplates(ec2: Ec2, ids: readonly string[]): Promise<Map<string, LaunchTemplate>> {
  const templates = new Map<string, LaunchTemplate>();
  for (const id of ids) {
    try {
      const page = await ec2Call(ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [id] })));
      for (const t of page.LaunchTemplates ?? [])
        if (t.LaunchTemplateId) templates.set(t.LaunchTemplateId, t);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  return templates;
}

/** The template's versions whose ImageId is one of `imageIds`, every page. */
async function versionsNaming(
  ec2: Ec2,
  templateId: string,
  imageIds: readonly string[],
): Promise<LaunchTemplateVersion[]> {
  const versions: LaunchTemplateVersion[] = [];
  let NextToken: string | undefined;
  try {
    do {
      const page = await ec2Call(
        ec2.send(
          new DescribeLaunchTemplateVersionsCommand({
            LaunchTemplateId: templateId,
            Filters: [{ Name: 'image-id', Values: [...imageIds] }],
            MaxResults: 200,
            NextToken,
          }),
        ),
      );
      versions.push(...(page.LaunchTemplateVersions ?? []));
      NextToken = page.NextToken;
    } while (NextToken);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  return versions;
}

/** Names each launch template reference's versions (and the template's name). */
async function describeLaunchTemplateReferences(
  ec2: Ec2,
  found: Map<string, ImageReference[]>,
): Promise<void> {
  const imagesByTemplate = new Map<string, string[]>();
  for (const [imageId, refs] of found) {
    for (const ref of refs) {
      if (ref.kind !== 'launch-template') continue;
      imagesByTemplate.set(ref.id, [...(imagesByTemplate.get(ref.id) ?? []), imageId]);
    }
  }
  if (imagesByTemplate.size === 0) return;
  const templates = await describeTemplates(ec2, [...imagesByTemplate.keys()]);
  for (const [templateId, imageIds] of imagesByTemplate) {
    const template = templates.get(templateId);
    const versions = template ? await versionsNaming(ec2, templateId, imageIds) : [];
    for (const imageId of imageIds) {
      const mine = versions
        .filter((v) => v.LaunchTemplateData?.ImageId === imageId && v.VersionNumber !== undefined)
        .map((v) => ({
          version: v.VersionNumber as number,
          default: v.DefaultVersion === true || v.VersionNumber === template?.DefaultVersionNumber,
          latest: v.VersionNumber === template?.LatestVersionNumber,
        }))
        .sort((a, b) => a.version - b.version);
      for (const ref of found.get(imageId) ?? []) {
        if (ref.kind !== 'launch-template' || ref.id !== templateId) continue;
        const name = template?.LaunchTemplateName;
        if (name !== undefined) ref.name = name;
        ref.versions = mine;
        ref.detail = `launch template ${name ? `${name} (${templateId})` : templateId} ${versionsPhrase(mine)}`;
      }
    }
  }
}

/**
 * Every resource referencing each image, by image id (an entry for each id asked, empty when
 * nothing references it). Ten ids a DescribeImageReferences call, each call's pages followed.
 */
export async function findImageReferences(
  ec2: Ec2,
  imageIds: readonly string[],
  options: ImageReferenceOptions = {},
): Promise<Map<string, ImageReference[]>> {
  const unique = [...new Set(imageIds)];
  const found = new Map<string, ImageReference[]>(unique.map((id) => [id, []]));
  const own = options.isOwnParameter ?? (() => false);
  for (const batch of chunks(unique, IMAGE_IDS_PER_CALL)) {
    let NextToken: string | undefined;
    do {
      const page = await ec2Call(
        ec2.send(
          new DescribeImageReferencesCommand({ ImageIds: batch, ResourceTypes: RESOURCE_TYPES, NextToken }),
        ),
      );
      for (const item of page.ImageReferences ?? []) {
        const kind = KINDS[item.ResourceType ?? ''];
        const refs = found.get(item.ImageId ?? '');
        if (!kind || !item.Arn || !refs) continue;
        const ref = referenceOf(kind, item.Arn);
        if (kind === 'ssm-parameter' && own(ref.id)) continue;
        if (!refs.some((r) => r.arn === ref.arn)) refs.push(ref);
      }
      NextToken = page.NextToken;
    } while (NextToken);
  }
  await describeLaunchTemplateReferences(ec2, found);
  if (options.launchConfigurations && found.size > 0) {
    for (const [imageId, refs] of await options.launchConfigurations([...found.keys()])) {
      found.get(imageId)?.push(...refs);
    }
  }
  return found;
}
