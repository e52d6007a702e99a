/**
 * Reading the catalogue: this tool's AMIs in the account, newest first. Images are read
 * in pages (MaxResults = config.listPageSize) and only this tool's are kept, as compact
 * summaries, so memory grows with the tool's AMIs, not with the account's.
 */
import {
  CreateTagsCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  type DescribeImagesCommandInput,
  type DescribeImagesCommandOutput,
  type EC2Client,
  type Filter,
  type Image,
} from '@aws-sdk/client-ec2';
import { type Ami, MANAGED_BY, NAME_PREFIX, newestFirst, TAG, toAmi } from './ami';
import { config } from './config';
import { AmiNotFoundError, AmiNotManagedError, awsCall, fromAwsError } from './errors';

export type Ec2 = Pick<EC2Client, 'send'>;

/** The two ways an image is this tool's; EC2 ANDs filters, so each is its own query. */
const OWNERSHIP_QUERIES: Filter[][] = [
  [{ Name: `tag:${TAG.managedBy}`, Values: [MANAGED_BY] }],
  [{ Name: 'name', Values: [`${NAME_PREFIX}*`] }],
];

async function* describePages(ec2: Ec2, input: DescribeImagesCommandInput) {
  let NextToken: string | undefined;
  do {
    const page = await awsCall('EC2', ec2.send(new DescribeImagesCommand({ ...input, NextToken })));
    yield page.Images ?? [];
    NextToken = page.NextToken;
  } while (NextToken);
}

/**
 * Every AMI of this tool owned by the account, newest first, disabled ones included (EC2 leaves
 * them out unless asked, and they still cost their snapshots). `extra` narrows both queries.
 */
export async function scanAmis(ec2: Ec2, pageSize: number, extra: Filter[] = []): Promise<Ami[]> {
  return scanToolImages(ec2, pageSize, (_image, ami) => ami, extra);
}

/**
 * The same scan, each image kept as `summarize` makes it (the Ami, and anything else of the EC2
 * image it needs): only those summaries are held, one page of EC2's answer at a time.
 */
export async function scanToolImages<T extends Pick<Ami, 'imageId' | 'createdAt' | 'version'>>(
  ec2: Ec2,
  pageSize: number,
  summarize: (image: Image, ami: Ami) => T,
  extra: Filter[] = [],
): Promise<T[]> {
  const found = new Map<string, T>();
  for (const filters of OWNERSHIP_QUERIES) {
    const input = {
      Owners: ['self'],
      Filters: [...filters, ...extra],
      MaxResults: pageSize,
      IncludeDisabled: true,
    };
    for await (const images of describePages(ec2, input)) {
      for (const image of images) {
        const ami = toAmi(image, config.legacyImagesCreatedBefore);
        if (ami && !found.has(ami.imageId)) found.set(ami.imageId, summarize(image, ami));
      }
    }
  }
  return [...found.values()].sort(newestFirst);
}

interface Cursor {
  createdAt: string | null;
  version: string | null;
  imageId: string;
}

export function encodeCursor(ami: Cursor): string {
  const { createdAt, version, imageId } = ami;
  return Buffer.from(JSON.stringify({ createdAt, version, imageId })).toString('base64url');
}

/** Returns null for a token this API did not issue. */
export function decodeCursor(token: string): Cursor | null {
  try {
    const value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<Cursor>;
    if (typeof value.imageId !== 'string') return null;
    return {
      imageId: value.imageId,
      createdAt: typeof value.createdAt === 'string' ? value.createdAt : null,
      version: typeof value.version === 'string' ? value.version : null,
    };
  } catch {
    return null;
  }
}

/**
 * One page of the newest-first list. The token is a position in the order (the last item
 * returned), so a page stays correct when images are added or removed between requests.
 */
export function pageOf(
  amis: Ami[],
  limit: number,
  after: Cursor | null,
): { items: Ami[]; nextToken?: string } {
  const start = after === null ? 0 : amis.findIndex((ami) => newestFirst(ami, after) > 0);
  const items = start < 0 ? [] : amis.slice(start, start + limit);
  const last = items.at(-1);
  const more = start >= 0 && start + limit < amis.length;
  return more && last ? { items, nextToken: encodeCursor(last) } : { items };
}

/**
 * One image by id, only if this tool's: an image the account owns that is not this tool's
 * is refused by name (AmiNotManagedError), and its details are not returned.
 */
export async function getAmi(ec2: Ec2, imageId: string, region: string): Promise<Ami> {
  return (await getToolImage(ec2, imageId, region)).ami;
}

/** getAmi's image, with EC2's own description of it (DeprecationTime, LastLaunchedTime, …). */
export async function getToolImage(
  ec2: Ec2,
  imageId: string,
  region: string,
): Promise<{ image: Image; ami: Ami }> {
  let page: DescribeImagesCommandOutput;
  try {
    page = await ec2.send(
      new DescribeImagesCommand({ ImageIds: [imageId], Owners: ['self'], IncludeDisabled: true }),
    );
  } catch (error) {
    const name = (error as { name?: string }).name;
    if (name === 'InvalidAMIID.NotFound' || name === 'InvalidAMIID.Unavailable') {
      throw new AmiNotFoundError(imageId, region);
    }
    throw fromAwsError('EC2', error);
  }
  const image = page.Images?.[0];
  if (!image) throw new AmiNotFoundError(imageId, region);
  const ami = toAmi(image, config.legacyImagesCreatedBefore);
  if (!ami) throw new AmiNotManagedError(imageId);
  return { image, ami };
}

/**
 * Images named pulsar-base-* from before the tool carry no ManagedBy tag. Tagging them is what
 * lets the tag-scoped permissions to deregister and record validation results apply to them;
 * the version its name says is tagged PulsarVersion at the same time (ValidateAmi reads it).
 * Only the image is tagged, never its snapshots: a snapshot is deleted only when it carries the
 * tag already (see ami-deletion.ts). A managed image is left as it is.
 */
export async function adoptLegacyAmi(ec2: Ec2, ami: Ami): Promise<void> {
  const command = adoption(ami, false);
  if (command) await awsCall('EC2', ec2.send(command));
}

function adoption(ami: Ami, dryRun: boolean): CreateTagsCommand | undefined {
  if (ami.ownership !== 'legacy') return undefined;
  // The version its name says, as a tag: ValidateAmi reads the version from the image's tags.
  const version =
    ami.version !== null && ami.tags[TAG.version] === undefined
      ? [{ Key: TAG.version, Value: ami.version }]
      : [];
  return new CreateTagsCommand({
    Resources: [ami.imageId],
    Tags: [{ Key: TAG.managedBy, Value: MANAGED_BY }, ...version],
    ...(dryRun ? { DryRun: true } : {}),
  });
}

/** Resolves when EC2 answers DryRunOperation (the call would succeed); throws its refusal otherwise. */
async function wouldSucceed(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (error) {
    if ((error as { name?: string }).name === 'DryRunOperation') return;
    throw fromAwsError('EC2', error);
  }
}

/**
 * Asks EC2 (DryRun) whether the first change a deletion makes is allowed: adopting a legacy
 * image (it cannot be deregistered before it carries the tag the permissions ask for), or
 * deregistering a managed one.
 */
export async function checkDeletionAllowed(ec2: Ec2, ami: Ami): Promise<void> {
  const tagging = adoption(ami, true);
  await wouldSucceed(
    ami.ownership === 'legacy' && tagging
      ? ec2.send(tagging)
      : ec2.send(new DeregisterImageCommand({ ImageId: ami.imageId, DryRun: true })),
  );
}
