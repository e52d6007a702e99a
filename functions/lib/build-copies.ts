/**
 * Copying a validated AMI to another region (the guide's multi-region strategy): CopyImage in
 * the target region, idempotent by a ClientToken derived from the build id and the region,
 * with the source's name, its tags (docs/architecture.md section 4) and provenance, and where
 * it came from. The copy is tagged validated only once it is available (build-publishing.ts),
 * so a copy that fails or never finishes is never anyone's latest.
 */
import { CopyImageCommand, DescribeImagesCommand, type Tag } from '@aws-sdk/client-ec2';
import { TAG } from './ami';
import { type Ec2, getAmi } from './ami-catalogue';
import { AmiNotValidatedError } from './build-errors';
import type { ValidationTags } from './build-publishing';
import { awsCall } from './errors';
import { uuidV5 } from './validation-executions';

/** The source's tags a copy carries (never Validated*, Protected or anything not ours). */
export const COPIED_TAG_KEYS = [
  TAG.name,
  TAG.version,
  TAG.buildDate,
  TAG.managedBy,
  TAG.project,
  TAG.environment,
  TAG.buildExecution,
  TAG.baseAmi,
  TAG.pulsarSha512,
  TAG.packerVersion,
  TAG.buildId,
  TAG.architecture,
] as const;

/** UUID v5 namespace of the CopyImage client tokens. */
const COPY_TOKEN_NAMESPACE = '3c9e7a15-44b2-5d8f-a0e6-7b1c2d3e4f50';

/** CopyImage's ClientToken (at most 64 characters): the same build and region, the same copy. */
export function copyClientToken(buildId: string, region: string): string {
  return uuidV5(`${buildId}\n${region}`, COPY_TOKEN_NAMESPACE);
}

export interface CopyRequest {
  region: string;
  sourceRegion: string;
  sourceImageId: string;
  name: string;
  buildId: string;
}

export interface CopyStarted {
  region: string;
  imageId: string;
  /** False when the target is the source's own region (nothing to copy). */
  copied: boolean;
  /** What the copy is tagged with once it is available. */
  validationTags: ValidationTags;
}

export async function copyAmiToRegion(
  clients: { source: Ec2; target: Ec2 },
  request: CopyRequest,
): Promise<CopyStarted> {
  const source = await getAmi(clients.source, request.sourceImageId, request.sourceRegion);
  if (source.validated !== true) throw new AmiNotValidatedError(source.imageId, request.sourceRegion);
  const validationTags: ValidationTags = {
    [TAG.validated]: 'true',
    ...(source.validationDate ? { [TAG.validationDate]: source.validationDate } : {}),
    ...(source.tags[TAG.validationExecution]
      ? { [TAG.validationExecution]: source.tags[TAG.validationExecution] }
      : {}),
  };
  if (request.region === request.sourceRegion) {
    return { region: request.region, imageId: source.imageId, copied: false, validationTags };
  }
  const tags: Tag[] = [
    ...COPIED_TAG_KEYS.flatMap((Key) =>
      source.tags[Key] !== undefined ? [{ Key, Value: source.tags[Key] }] : [],
    ),
    { Key: TAG.sourceAmi, Value: source.imageId },
    { Key: TAG.sourceRegion, Value: request.sourceRegion },
  ];
  const copy = await awsCall(
    'EC2',
    clients.target.send(
      new CopyImageCommand({
        SourceImageId: source.imageId,
        SourceRegion: request.sourceRegion,
        Name: request.name || source.name,
        Description: `Copy of ${source.imageId} from ${request.sourceRegion}`,
        ClientToken: copyClientToken(request.buildId, request.region),
        TagSpecifications: [
          { ResourceType: 'image', Tags: tags },
          { ResourceType: 'snapshot', Tags: tags },
        ],
      }),
    ),
  );
  if (!copy.ImageId) throw new Error(`CopyImage to ${request.region} returned no image id`);
  return { region: request.region, imageId: copy.ImageId, copied: true, validationTags };
}

export interface CopyState {
  /** EC2's image state (pending, available, failed, …), or `unknown` while EC2 does not list it yet. */
  state: string;
  reason: string;
}

export async function getCopyState(ec2: Ec2, imageId: string): Promise<CopyState> {
  try {
    const page = await ec2.send(new DescribeImagesCommand({ ImageIds: [imageId], Owners: ['self'] }));
    const image = page.Images?.[0];
    if (!image) return { state: 'unknown', reason: 'not listed yet' };
    return { state: image.State ?? 'unknown', reason: image.StateReason?.Message ?? '' };
  } catch (error) {
    const name = (error as { name?: string }).name;
    // Right after CopyImage the target region may not know the id yet.
    if (name === 'InvalidAMIID.NotFound' || name === 'InvalidAMIID.Unavailable') {
      return { state: 'unknown', reason: 'not listed yet' };
    }
    return awsCall('EC2', Promise.reject(error));
  }
}
