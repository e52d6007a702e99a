/** EC2's XML for each resource, with the element names the SDK's EC2 deserializer reads. */
import {
  type ImageRecord,
  INSTANCE_STATE_CODES,
  type InstanceRecord,
  type LaunchTemplateRecord,
  type LaunchTemplateVersionRecord,
  type SnapshotRecord,
  type SubnetRecord,
  type Tags,
  type VpcRecord,
} from '../../state';
import type { RegionState } from '../../world';
import { items, type XmlObject, type XmlValue } from '../../xml';
import { protectionState } from '../models/images';

export function tagSet(tags: Tags): XmlValue {
  const entries = Object.entries(tags);
  return entries.length === 0 ? undefined : items(entries.map(([key, value]) => ({ key, value })));
}

export function renderImage(image: ImageRecord): XmlObject {
  return {
    imageId: image.imageId,
    imageLocation: `${image.ownerAlias ?? image.ownerId}/${image.name}`,
    imageState: image.state,
    imageOwnerId: image.ownerId,
    creationDate: image.creationDate,
    isPublic: image.isPublic,
    architecture: image.architecture,
    imageType: 'machine',
    sriovNetSupport: 'simple',
    imageOwnerAlias: image.ownerAlias,
    name: image.name,
    description: image.description,
    rootDeviceType: 'ebs',
    rootDeviceName: image.rootDeviceName,
    blockDeviceMapping: items(
      image.blockDevices.map((device) => ({
        deviceName: device.deviceName,
        ebs: {
          snapshotId: device.snapshotId,
          volumeSize: device.volumeSize,
          deleteOnTermination: device.deleteOnTermination,
          volumeType: device.volumeType,
          encrypted: device.encrypted,
        },
      })),
    ),
    virtualizationType: image.virtualizationType,
    tagSet: tagSet(image.tags),
    hypervisor: 'xen',
    enaSupport: true,
    bootMode: 'uefi-preferred',
    platformDetails: 'Linux/UNIX',
    usageOperation: 'RunInstances',
    imdsSupport: 'v2.0',
    deregistrationProtection: protectionState(image),
    sourceImageId: image.sourceImageId,
    sourceImageRegion: image.sourceImageRegion,
    deprecationTime: image.deprecationTime,
    lastLaunchedTime: image.lastLaunchedTime,
  };
}

export function renderSnapshot(snapshot: SnapshotRecord): XmlObject {
  return {
    snapshotId: snapshot.snapshotId,
    volumeId: snapshot.volumeId,
    status: snapshot.state,
    startTime: snapshot.startTime,
    progress: snapshot.state === 'completed' ? '100%' : '0%',
    ownerId: snapshot.ownerId,
    ownerAlias: snapshot.ownerAlias,
    volumeSize: snapshot.volumeSize,
    description: snapshot.description,
    encrypted: snapshot.encrypted,
    storageTier: 'standard',
    tagSet: tagSet(snapshot.tags),
  };
}

export function renderInstance(instance: InstanceRecord, region: string, state?: RegionState): XmlObject {
  const ipDashed = instance.privateIpAddress.replaceAll('.', '-');
  const terminated = instance.state === 'terminated';
  const volumes = instance.volumeIds.flatMap((id) => {
    const volume = state?.volumes.get(id);
    return volume ? [volume] : [];
  });
  return {
    instanceId: instance.instanceId,
    imageId: instance.imageId,
    instanceState: { code: INSTANCE_STATE_CODES[instance.state], name: instance.state },
    privateDnsName: terminated ? '' : `ip-${ipDashed}.${region}.compute.internal`,
    dnsName: '',
    reason: instance.stateTransitionReason,
    amiLaunchIndex: 0,
    instanceType: instance.instanceType,
    launchTime: instance.launchTime,
    placement: { availabilityZone: instance.availabilityZone, groupName: '', tenancy: 'default' },
    monitoring: { state: 'disabled' },
    subnetId: terminated ? undefined : instance.subnetId,
    vpcId: terminated ? undefined : instance.vpcId,
    privateIpAddress: terminated ? undefined : instance.privateIpAddress,
    sourceDestCheck: true,
    groupSet: items([]),
    stateReason: instance.stateReason,
    architecture: instance.architecture,
    rootDeviceType: 'ebs',
    rootDeviceName: '/dev/xvda',
    blockDeviceMapping: items(
      volumes.map((v) => ({
        deviceName: v.deviceName,
        ebs: {
          volumeId: v.volumeId,
          status: 'attached',
          attachTime: v.attachTime,
          deleteOnTermination: true,
        },
      })),
    ),
    virtualizationType: 'hvm',
    clientToken: instance.clientToken,
    tagSet: tagSet(instance.tags),
    hypervisor: 'xen',
    iamInstanceProfile: instance.iamInstanceProfile,
    ebsOptimized: false,
    enaSupport: true,
    metadataOptions: instance.metadataOptions
      ? {
          state: instance.state === 'pending' ? 'pending' : 'applied',
          httpTokens: instance.metadataOptions.httpTokens,
          httpPutResponseHopLimit: 1,
          httpEndpoint: instance.metadataOptions.httpEndpoint,
        }
      : undefined,
  };
}

export function renderVpc(vpc: VpcRecord, ownerId: string): XmlObject {
  return {
    vpcId: vpc.vpcId,
    ownerId,
    state: vpc.state,
    cidrBlock: vpc.cidrBlock,
    cidrBlockAssociationSet: items([
      {
        cidrBlock: vpc.cidrBlock,
        associationId: `${vpc.vpcId}-cidr`,
        cidrBlockState: { state: 'associated' },
      },
    ]),
    dhcpOptionsId: vpc.dhcpOptionsId,
    instanceTenancy: 'default',
    isDefault: vpc.isDefault,
  };
}

export function renderSubnet(subnet: SubnetRecord, ownerId: string, region: string): XmlObject {
  return {
    subnetId: subnet.subnetId,
    subnetArn: `arn:aws:ec2:${region}:${ownerId}:subnet/${subnet.subnetId}`,
    state: subnet.state,
    ownerId,
    vpcId: subnet.vpcId,
    cidrBlock: subnet.cidrBlock,
    availableIpAddressCount: subnet.availableIpAddressCount,
    availabilityZone: subnet.availabilityZone,
    availabilityZoneId: subnet.availabilityZoneId,
    defaultForAz: subnet.defaultForAz,
    mapPublicIpOnLaunch: subnet.mapPublicIpOnLaunch,
    assignIpv6AddressOnCreation: false,
  };
}

export function renderLaunchTemplate(t: LaunchTemplateRecord): XmlObject {
  return {
    launchTemplateId: t.launchTemplateId,
    launchTemplateName: t.name,
    createTime: t.createTime,
    createdBy: t.createdBy,
    defaultVersionNumber: t.defaultVersion,
    latestVersionNumber: t.versions.at(-1)?.versionNumber ?? 1,
    tagSet: tagSet(t.tags),
  };
}

export function renderLaunchTemplateVersion(
  t: LaunchTemplateRecord,
  v: LaunchTemplateVersionRecord,
): XmlObject {
  return {
    launchTemplateId: t.launchTemplateId,
    launchTemplateName: t.name,
    versionNumber: v.versionNumber,
    versionDescription: v.description,
    createTime: v.createTime,
    createdBy: t.createdBy,
    defaultVersion: v.versionNumber === t.defaultVersion,
    launchTemplateData: { imageId: v.data.imageId, instanceType: v.data.instanceType },
  };
}
