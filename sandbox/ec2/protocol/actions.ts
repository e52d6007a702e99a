/**
 * EC2's actions on the wire: each reads its query parameters into the model's typed input,
 * calls the model (models/), and renders the answer's members (the dispatcher in index.ts
 * adds `requestId` and the root element). Pagination (MaxResults, NextToken) is done here.
 */
import { InvalidParameterValue, MissingParameter } from '../../errors/ec2';
import type { QueryParams } from '../../query';
import { INSTANCE_STATE_CODES, type InstanceRecord, type InstanceStateName } from '../../state';
import { items, type XmlObject } from '../../xml';
import type { Ec2Scope } from '../models/context';
import { copyImage } from '../models/copy-image';
import { describeImageReferences, type ResourceTypeRequest } from '../models/image-references';
import {
  deregisterImage,
  describeImages,
  imageAttribute,
  registerImage,
  setDeregistrationProtection,
  setImageDeprecation,
  setImageEnabled,
} from '../models/images';
import { describeInstanceTypes } from '../models/instance-types';
import {
  describeInstanceStatus,
  describeInstances,
  type Health,
  reachability,
  runInstances,
  terminateInstances,
} from '../models/instances';
import {
  createLaunchTemplate,
  createLaunchTemplateVersion,
  describeLaunchTemplates,
  describeLaunchTemplateVersions,
  type LaunchTemplateDataInput,
  setDefaultVersion,
} from '../models/launch-templates';
import { describeSubnets, describeVpcs } from '../models/network';
import { deleteSnapshot, describeSnapshots } from '../models/snapshots';
import { createTags, deleteTags, type TagInput } from '../models/tags';
import { checkMaxResults, checkPageOrIds, paginate } from './pagination';
import {
  renderImage,
  renderInstance,
  renderLaunchTemplate,
  renderLaunchTemplateVersion,
  renderSnapshot,
  renderSubnet,
  renderVpc,
} from './render';

/** What an action gets: the request's parameters and the model's scope. */
export interface Ec2Request {
  params: QueryParams;
  scope: Ec2Scope;
}

/** Returns the response members. */
export type Ec2Action = (request: Ec2Request) => XmlObject | Promise<XmlObject>;

function requireParam(params: QueryParams, name: string): string {
  const value = params.get(name);
  if (value === undefined || value === '') throw new MissingParameter(name);
  return value;
}

const tagInputs = (params: QueryParams): TagInput[] =>
  params.structs('Tag').map((tag) => ({ key: tag.Key, value: tag.Value }));

/** `TagSpecification.N.ResourceType` with its `Tag.M.Key/Value`, in index order. */
function tagSpecifications(params: QueryParams) {
  return params.structs('TagSpecification').map((spec) => {
    const indices = new Set<string>();
    for (const key of Object.keys(spec)) {
      const m = /^Tag\.(\d+)\.Key$/.exec(key);
      if (m?.[1] !== undefined) indices.add(m[1]);
    }
    return {
      resourceType: spec.ResourceType ?? '',
      tags: [...indices]
        .sort((a, b) => Number(a) - Number(b))
        .map((index) => ({ key: spec[`Tag.${index}.Key`] ?? '', value: spec[`Tag.${index}.Value`] ?? '' })),
    };
  });
}

function reservations({ scope }: Ec2Request, instances: InstanceRecord[]): XmlObject[] {
  const byReservation = new Map<string, InstanceRecord[]>();
  for (const instance of instances) {
    const list = byReservation.get(instance.reservationId) ?? [];
    list.push(instance);
    byReservation.set(instance.reservationId, list);
  }
  return [...byReservation].map(([reservationId, list]) => ({
    reservationId,
    ownerId: scope.world.accountId,
    groupSet: items([]),
    instancesSet: items(list.map((i) => renderInstance(i, scope.regionName, scope.region))),
  }));
}

const stateOf = (state: InstanceStateName) => ({ code: INSTANCE_STATE_CODES[state], name: state });

const healthSummary = (h: Health) => ({
  status: h,
  details: items([{ name: 'reachability', status: reachability(h) }]),
});

/** A Describe call with ids, filters and pages: `select` is the model's choice of items. */
function describe<T>(
  { params }: Ec2Request,
  idsName: string,
  idsSet: string,
  kind: string,
  select: (ids: string[]) => T[],
  idOf: (item: T) => string,
): { page: T[]; nextToken?: string } {
  const ids = params.list(idsName);
  const maxResults = params.int('MaxResults');
  checkPageOrIds(maxResults, ids, idsSet);
  return paginate(kind, select(ids), idOf, maxResults, params.get('NextToken'));
}

/** DescribeVpcs/DescribeSubnets: MaxResults without the id-list rule. */
function describeNetwork<T>(
  { params }: Ec2Request,
  idsName: string,
  kind: string,
  select: (input: { ids: string[]; filters: ReturnType<QueryParams['filters']> }) => T[],
  idOf: (item: T) => string,
): { page: T[]; nextToken?: string } {
  const ids = params.list(idsName);
  const maxResults = params.int('MaxResults');
  checkMaxResults(maxResults, 5, 1000);
  return paginate(
    kind,
    select({ ids, filters: params.filters() }),
    idOf,
    maxResults,
    params.get('NextToken'),
  );
}

/** `LaunchTemplateData.ImageId`, `LaunchTemplateData.InstanceType` (the members the sandbox keeps). */
function launchTemplateData(params: QueryParams): LaunchTemplateDataInput {
  const imageId = params.get('LaunchTemplateData.ImageId');
  const instanceType = params.get('LaunchTemplateData.InstanceType');
  return {
    ...(imageId !== undefined ? { imageId } : {}),
    ...(instanceType !== undefined ? { instanceType } : {}),
  };
}

const templateRef = (params: QueryParams) => ({
  id: params.get('LaunchTemplateId'),
  name: params.get('LaunchTemplateName'),
});

/** `ResourceType.N.ResourceType` with `ResourceType.N.ResourceTypeOption.M.OptionName/OptionValue.K`. */
function resourceTypeRequests(params: QueryParams): ResourceTypeRequest[] {
  return params.structs('ResourceType').map((struct) => {
    const options = new Map<string, { name: string; values: [number, string][] }>();
    for (const [key, value] of Object.entries(struct)) {
      const m = /^ResourceTypeOption\.(\d+)\.(OptionName|OptionValue\.(\d+))$/.exec(key);
      if (!m?.[1]) continue;
      const option = options.get(m[1]) ?? { name: '', values: [] };
      if (m[2] === 'OptionName') option.name = value;
      else option.values.push([Number(m[3]), value]);
      options.set(m[1], option);
    }
    return {
      type: struct.ResourceType ?? '',
      options: [...options]
        .sort(([a], [b]) => Number(a) - Number(b))
        .map(([, o]) => ({ name: o.name, values: o.values.sort(([a], [b]) => a - b).map(([, v]) => v) })),
    };
  });
}

export const ACTIONS: Record<string, Ec2Action> = {
  DescribeImages: (request) => {
    const { params, scope } = request;
    const owners = params.list('Owner');
    const { page, nextToken } = describe(
      request,
      'ImageId',
      'imageIdsSet',
      'images',
      (imageIds) =>
        describeImages(scope, {
          imageIds,
          owners,
          filters: params.filters(),
          includeDisabled: params.bool('IncludeDisabled'),
        }),
      (i) => i.imageId,
    );
    return { imagesSet: items(page.map(renderImage)), nextToken };
  },

  DeregisterImage: ({ params, scope }) => {
    const imageId = requireParam(params, 'ImageId');
    const deleted = deregisterImage(scope, {
      imageId,
      deleteSnapshots: params.bool('DeleteAssociatedSnapshots'),
    });
    if (!deleted) return { return: true };
    const results = deleted.map((d) => ({
      snapshotId: d.snapshotId,
      returnCode: d.deleted ? 'success' : 'client-error',
    }));
    return { return: true, deleteSnapshotResultSet: items(results) };
  },

  DisableImage: ({ params, scope }) => {
    setImageEnabled(scope, { imageId: requireParam(params, 'ImageId'), enabled: false });
    return { return: true };
  },

  EnableImage: ({ params, scope }) => {
    setImageEnabled(scope, { imageId: requireParam(params, 'ImageId'), enabled: true });
    return { return: true };
  },

  EnableImageDeregistrationProtection: ({ params, scope }) => {
    const imageId = requireParam(params, 'ImageId');
    setDeregistrationProtection(scope, { imageId, enabled: true, withCooldown: params.bool('WithCooldown') });
    return { return: 'true' };
  },

  DisableImageDeregistrationProtection: ({ params, scope }) => {
    setDeregistrationProtection(scope, { imageId: requireParam(params, 'ImageId'), enabled: false });
    return { return: 'true' };
  },

  CopyImage: ({ params, scope }) => {
    const specs = tagSpecifications(params);
    for (const spec of specs) {
      if (spec.resourceType !== 'image' && spec.resourceType !== 'snapshot') {
        throw InvalidParameterValue.forParameter(
          'TagSpecification.ResourceType',
          spec.resourceType,
          'CopyImage tags only image and snapshot.',
        );
      }
    }
    const tagsFor = (type: string) =>
      Object.fromEntries(
        specs
          .filter((s) => s.resourceType === type)
          .flatMap((s) => s.tags.map((t) => [t.key, t.value] as const)),
      );
    const image = copyImage(scope, {
      sourceRegion: requireParam(params, 'SourceRegion'),
      sourceImageId: requireParam(params, 'SourceImageId'),
      name: requireParam(params, 'Name'),
      description: params.get('Description'),
      clientToken: params.get('ClientToken'),
      copyImageTags: params.bool('CopyImageTags'),
      imageTags: tagsFor('image'),
      snapshotTags: tagsFor('snapshot'),
      ...(params.get('Encrypted') !== undefined ? { encrypted: params.bool('Encrypted') } : {}),
    });
    return { imageId: image.imageId };
  },

  RegisterImage: ({ params, scope }) => {
    const architecture = params.get('Architecture') ?? 'x86_64';
    if (architecture !== 'x86_64' && architecture !== 'arm64') {
      throw InvalidParameterValue.forParameter('Architecture', architecture);
    }
    const tags = Object.fromEntries(
      tagSpecifications(params)
        .filter((spec) => spec.resourceType === 'image')
        .flatMap((spec) => spec.tags.map((t) => [t.key, t.value] as const)),
    );
    const image = registerImage(scope, {
      name: requireParam(params, 'Name'),
      description: params.get('Description'),
      architecture,
      rootDeviceName: params.get('RootDeviceName') ?? '/dev/xvda',
      blockDevices: params.structs('BlockDeviceMapping').flatMap((m) => {
        const snapshotId = m['Ebs.SnapshotId'];
        if (snapshotId === undefined) return [];
        const size = m['Ebs.VolumeSize'];
        return [
          {
            deviceName: m.DeviceName ?? '/dev/xvda',
            snapshotId,
            ...(size !== undefined ? { volumeSize: Number(size) } : {}),
            ...(m['Ebs.VolumeType'] !== undefined ? { volumeType: m['Ebs.VolumeType'] } : {}),
          },
        ];
      }),
      tags,
    });
    return { imageId: image.imageId };
  },

  DescribeImageAttribute: ({ params, scope }) => {
    const imageId = requireParam(params, 'ImageId');
    const { attribute, value } = imageAttribute(scope, {
      imageId,
      attribute: requireParam(params, 'Attribute'),
    });
    return { imageId, [attribute]: value === undefined ? undefined : { value } };
  },

  EnableImageDeprecation: ({ params, scope }) => {
    setImageDeprecation(scope, {
      imageId: requireParam(params, 'ImageId'),
      deprecateAt: requireParam(params, 'DeprecateAt'),
    });
    return { return: true };
  },

  DisableImageDeprecation: ({ params, scope }) => {
    setImageDeprecation(scope, { imageId: requireParam(params, 'ImageId') });
    return { return: true };
  },

  DescribeImageReferences: ({ params, scope }) => {
    const maxResults = params.int('MaxResults');
    checkMaxResults(maxResults, 1, 1000);
    const found = describeImageReferences(scope, {
      imageIds: params.list('ImageId'),
      includeAll: params.bool('IncludeAllResourceTypes'),
      resourceTypes: resourceTypeRequests(params),
    });
    const { page, nextToken } = paginate(
      'image-references',
      found,
      (r) => `${r.imageId}|${r.arn}`,
      maxResults,
      params.get('NextToken'),
    );
    return {
      imageReferenceSet: items(
        page.map((r) => ({ imageId: r.imageId, resourceType: r.resourceType, arn: r.arn })),
      ),
      nextToken,
    };
  },

  CreateLaunchTemplate: ({ params, scope }) => {
    const tags = Object.fromEntries(
      tagSpecifications(params)
        .filter((spec) => spec.resourceType === 'launch-template')
        .flatMap((spec) => spec.tags.map((t) => [t.key, t.value] as const)),
    );
    const template = createLaunchTemplate(scope, {
      name: requireParam(params, 'LaunchTemplateName'),
      description: params.get('VersionDescription'),
      data: launchTemplateData(params),
      tags,
    });
    return { launchTemplate: renderLaunchTemplate(template) };
  },

  CreateLaunchTemplateVersion: ({ params, scope }) => {
    const { template, version } = createLaunchTemplateVersion(scope, {
      template: templateRef(params),
      sourceVersion: params.get('SourceVersion'),
      description: params.get('VersionDescription'),
      data: launchTemplateData(params),
    });
    return { launchTemplateVersion: renderLaunchTemplateVersion(template, version) };
  },

  ModifyLaunchTemplate: ({ params, scope }) => {
    const template = setDefaultVersion(scope, {
      template: templateRef(params),
      version: params.get('SetDefaultVersion'),
    });
    return { launchTemplate: renderLaunchTemplate(template) };
  },

  DescribeLaunchTemplates: ({ params, scope }) => {
    const ids = params.list('LaunchTemplateId');
    const names = params.list('LaunchTemplateName');
    const maxResults = params.int('MaxResults');
    checkMaxResults(maxResults, 1, 200);
    const { page, nextToken } = paginate(
      'launch-templates',
      describeLaunchTemplates(scope, { ids, names, filters: params.filters() }),
      (t) => t.launchTemplateId,
      maxResults,
      params.get('NextToken'),
    );
    return { launchTemplates: items(page.map(renderLaunchTemplate)), nextToken };
  },

  DescribeLaunchTemplateVersions: ({ params, scope }) => {
    const maxResults = params.int('MaxResults');
    checkMaxResults(maxResults, 1, 200);
    const views = describeLaunchTemplateVersions(scope, {
      template: templateRef(params),
      versions: params.list('LaunchTemplateVersion'),
      minVersion: params.int('MinVersion'),
      maxVersion: params.int('MaxVersion'),
      filters: params.filters(),
    });
    const { page, nextToken } = paginate(
      'launch-template-versions',
      views,
      (v) => `${v.template.launchTemplateId}|${String(v.version.versionNumber).padStart(10, '0')}`,
      maxResults,
      params.get('NextToken'),
    );
    return {
      launchTemplateVersionSet: items(page.map((v) => renderLaunchTemplateVersion(v.template, v.version))),
      nextToken,
    };
  },

  DescribeSnapshots: (request) => {
    const { params, scope } = request;
    const owners = params.list('Owner');
    const { page, nextToken } = describe(
      request,
      'SnapshotId',
      'snapshotIdsSet',
      'snapshots',
      (snapshotIds) => describeSnapshots(scope, { snapshotIds, owners, filters: params.filters() }),
      (s) => s.snapshotId,
    );
    return { snapshotSet: items(page.map(renderSnapshot)), nextToken };
  },

  DeleteSnapshot: ({ params, scope }) => {
    deleteSnapshot(scope, requireParam(params, 'SnapshotId'));
    return { return: true };
  },

  CreateTags: ({ params, scope }) => {
    createTags(scope, params.list('ResourceId'), tagInputs(params));
    return { return: true };
  },

  DeleteTags: ({ params, scope }) => {
    deleteTags(scope, params.list('ResourceId'), tagInputs(params));
    return { return: true };
  },

  DescribeInstances: (request) => {
    const { params, scope } = request;
    const { page, nextToken } = describe(
      request,
      'InstanceId',
      'instancesSet',
      'instances',
      (instanceIds) => describeInstances(scope, { instanceIds, filters: params.filters() }),
      (i) => i.instanceId,
    );
    return { reservationSet: items(reservations(request, page)), nextToken };
  },

  DescribeInstanceStatus: (request) => {
    const { params, scope } = request;
    const includeAll = params.bool('IncludeAllInstances');
    const { page, nextToken } = describe(
      request,
      'InstanceId',
      'instancesSet',
      'instance-status',
      (instanceIds) => describeInstanceStatus(scope, { instanceIds, includeAll, filters: params.filters() }),
      (s) => s.instance.instanceId,
    );
    return {
      instanceStatusSet: items(
        page.map(({ instance, health }) => ({
          instanceId: instance.instanceId,
          availabilityZone: instance.availabilityZone,
          instanceState: stateOf(instance.state),
          systemStatus: healthSummary(health),
          instanceStatus: healthSummary(health),
          attachedEbsStatus: healthSummary(health),
        })),
      ),
      nextToken,
    };
  },

  DescribeInstanceTypes: ({ params, scope }) => ({
    instanceTypeSet: items(
      describeInstanceTypes(scope, params.list('InstanceType')).map(({ instanceType, architecture }) => ({
        instanceType,
        currentGeneration: true,
        processorInfo: { supportedArchitectures: items([architecture]) },
      })),
    ),
  }),

  RunInstances: (request) => {
    const { params, scope } = request;
    const imageId = requireParam(params, 'ImageId');
    const minCount = params.int('MinCount');
    const maxCount = params.int('MaxCount');
    if (minCount === undefined) throw new MissingParameter('MinCount');
    if (maxCount === undefined) throw new MissingParameter('MaxCount');
    const instances = runInstances(scope, {
      imageId,
      minCount,
      maxCount,
      instanceType: params.get('InstanceType') ?? 'm1.small',
      subnetId: params.get('SubnetId'),
      profileName: params.get('IamInstanceProfile.Name'),
      profileArn: params.get('IamInstanceProfile.Arn'),
      userData: params.get('UserData'),
      shutdownBehavior: params.get('InstanceInitiatedShutdownBehavior') ?? 'stop',
      tagSpecifications: tagSpecifications(params),
      clientToken: params.get('ClientToken'),
      securityGroupIds: params.list('SecurityGroupId'),
      metadataOptions: {
        httpTokens: params.get('MetadataOptions.HttpTokens') ?? 'optional',
        httpEndpoint: params.get('MetadataOptions.HttpEndpoint') ?? 'enabled',
      },
    });
    const [reservation] = reservations(request, instances);
    return reservation ?? {};
  },

  TerminateInstances: ({ params, scope }) => {
    const instanceIds = params.list('InstanceId');
    if (instanceIds.length === 0) throw new MissingParameter('InstanceId');
    const changes = terminateInstances(scope, instanceIds);
    return {
      instancesSet: items(
        changes.map(({ instance, previous }) => ({
          instanceId: instance.instanceId,
          currentState: stateOf(instance.state),
          previousState: stateOf(previous),
        })),
      ),
    };
  },

  DescribeVpcs: (request) => {
    const { page, nextToken } = describeNetwork(
      request,
      'VpcId',
      'vpcs',
      (input) => describeVpcs(request.scope, input),
      (v) => v.vpcId,
    );
    return { vpcSet: items(page.map((v) => renderVpc(v, request.scope.world.accountId))), nextToken };
  },

  DescribeSubnets: (request) => {
    const { scope } = request;
    const { page, nextToken } = describeNetwork(
      request,
      'SubnetId',
      'subnets',
      (input) => describeSubnets(scope, input),
      (s) => s.subnetId,
    );
    return {
      subnetSet: items(page.map((s) => renderSubnet(s, scope.world.accountId, scope.regionName))),
      nextToken,
    };
  },
};
