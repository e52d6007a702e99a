/**
 * Publishing a validated build in a region: the version's own parameter (per architecture)
 * always points at it; the account's latest (x86_64) moves only by the latest rule (latest-ami.ts publishLatest), so a build
 * of an older line never moves it backwards. A copy in another region is first tagged
 * validated, as its source is.
 */
import { CreateTagsCommand } from '@aws-sdk/client-ec2';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { TAG } from './ami';
import { type Ec2, getAmi } from './ami-catalogue';
import { AmiMismatchError, AmiNotValidatedError } from './build-errors';
import { awsCall } from './errors';
import {
  type LatestSettings,
  type PublishOutcome,
  publishLatest,
  type Ssm,
  versionParameterName,
} from './latest-ami';

export { versionParameterName };

/** The tags that say an image was validated (ValidateAmi's Record Validation Result). */
export const VALIDATION_TAG_KEYS = [TAG.validated, TAG.validationDate, TAG.validationExecution] as const;

export type ValidationTags = Partial<Record<(typeof VALIDATION_TAG_KEYS)[number], string>>;

export interface PublishSettings extends LatestSettings {
  versionParameterPrefix: string;
}

export interface PublishRequest {
  imageId: string;
  version: string;
  /** For a copy: the source's validation tags, put on the copy before it is published. */
  validationTags?: ValidationTags;
}

export interface PublishResult {
  region: string;
  imageId: string;
  versionParameter: string;
  latest: PublishOutcome;
}

export async function publishBuiltAmi(
  clients: { ec2: Ec2; ssm: Ssm },
  settings: PublishSettings,
  request: PublishRequest,
): Promise<PublishResult> {
  const { imageId, version } = request;
  const ami = await getAmi(clients.ec2, imageId, settings.region);
  if (ami.state !== 'available') throw new AmiMismatchError(imageId, `is ${ami.state}, not available`);
  if (ami.version !== version) {
    throw new AmiMismatchError(imageId, `is Pulsar ${ami.version ?? 'of no known version'}, not ${version}`);
  }
  const tags = Object.entries(request.validationTags ?? {}).filter(
    ([key, value]) => (VALIDATION_TAG_KEYS as readonly string[]).includes(key) && value !== undefined,
  ) as [string, string][];
  if (tags.length > 0) {
    await awsCall(
      'EC2',
      clients.ec2.send(
        new CreateTagsCommand({ Resources: [imageId], Tags: tags.map(([Key, Value]) => ({ Key, Value })) }),
      ),
    );
  }
  const validated = tags.length > 0 ? request.validationTags?.Validated === 'true' : ami.validated === true;
  if (!validated) throw new AmiNotValidatedError(imageId, settings.region);

  const versionParameter = versionParameterName(settings.versionParameterPrefix, version, ami.architecture);
  await awsCall(
    'SSM',
    clients.ssm.send(
      new PutParameterCommand({
        Name: versionParameter,
        Value: imageId,
        Type: 'String',
        DataType: 'aws:ec2:image',
        Overwrite: true,
      }),
    ),
  );
  const latest = await publishLatest(clients, settings);
  return { region: settings.region, imageId, versionParameter, latest };
}
