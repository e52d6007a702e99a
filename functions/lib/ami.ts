/**
 * The AMI domain: names, versions, tags, ownership and ordering. Pure functions only, so
 * the rules that decide what is listed, what is newest and what may be deleted are tested
 * without any AWS at all.
 */
import type { Image, Tag } from '@aws-sdk/client-ec2';
import { VERSION_PATTERN } from './validation';

export const NAME_PREFIX = 'pulsar-base-';
export const MANAGED_BY = 'pulsar-ami';

/** Tag keys, as docs/architecture.md section 4 lists them. */
export const TAG = {
  name: 'Name',
  version: 'PulsarVersion',
  buildDate: 'BuildDate',
  managedBy: 'ManagedBy',
  project: 'Project',
  environment: 'Environment',
  buildExecution: 'BuildExecutionArn',
  validated: 'Validated',
  validationDate: 'ValidationDate',
  validationExecution: 'ValidationExecutionArn',
  protected: 'Protected',
  // Provenance, set by the build (packer/pulsar-base.pkr.hcl).
  baseAmi: 'BaseAmiId',
  pulsarSha512: 'PulsarSha512',
  packerVersion: 'PackerVersion',
  buildId: 'BuildId',
  architecture: 'Architecture',
  // On a copy in another region: where it was copied from.
  sourceAmi: 'SourceAmiId',
  sourceRegion: 'SourceRegion',
} as const;

/**
 * The image tags only this tool writes (besides ManagedBy itself): its builds, copies and
 * validations record them on images it manages. On an image without ManagedBy (a legacy one) they
 * were written by someone else, and are not read (see toAmi).
 */
export const TOOL_WRITTEN_TAGS: readonly string[] = [
  TAG.version,
  TAG.buildDate,
  TAG.buildExecution,
  TAG.validated,
  TAG.validationDate,
  TAG.validationExecution,
  TAG.sourceAmi,
  TAG.sourceRegion,
];

/** Why an image counts as this tool's: tagged by it, or named by the guide's convention. */
export type Ownership = 'managed' | 'legacy';

export interface Ami {
  imageId: string;
  name: string;
  version: string | null;
  state: string;
  createdAt: string | null;
  ownerId: string | null;
  ownership: Ownership;
  validated: boolean | null;
  validationDate: string | null;
  protected: boolean;
  /** What protects it, in words (see protectionOf), when `protected`. */
  protection?: string;
  snapshotIds: string[];
  /** x86_64, arm64, … as EC2 says it. */
  architecture?: string;
  /** Its tags, as this tool reads them: a legacy image's without TOOL_WRITTEN_TAGS. */
  tags: Record<string, string>;
}

export type Version = readonly [number, number, number];

export function parseVersion(value: string): Version | null {
  const match = VERSION_PATTERN.exec(value);
  if (!match) return null;
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** Numeric, part by part: 2.11.0 is newer than 2.9.0. Unparseable versions sort last. */
export function compareVersions(a: string | null, b: string | null): number {
  const pa = a === null ? null : parseVersion(a);
  const pb = b === null ? null : parseVersion(b);
  if (pa === null || pb === null) return pa === pb ? 0 : pa === null ? -1 : 1;
  for (let i = 0; i < 3; i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return Math.sign(diff);
  }
  return 0;
}

const NAME_PATTERN = /^pulsar-base-(\d+\.\d+\.\d+)-(\d{8,14})$/;

export function versionFromName(name: string): string | null {
  const match = NAME_PATTERN.exec(name);
  return match?.[1] !== undefined && parseVersion(match[1]) ? match[1] : null;
}

/** `pulsar-base-{VERSION}-{YYYYMMDDhhmmss}` in UTC. */
export function amiName(version: string, at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/\.\d{3}Z$/, '')
    .replace(/[-:T]/g, '');
  return `${NAME_PREFIX}${version}-${stamp}`;
}

export function tagsToRecord(tags: readonly Tag[] | undefined): Record<string, string> {
  const record: Record<string, string> = {};
  for (const tag of tags ?? []) {
    if (tag.Key !== undefined) record[tag.Key] = tag.Value ?? '';
  }
  return record;
}

export function recordToTags(record: Record<string, string>): Tag[] {
  return Object.entries(record).map(([Key, Value]) => ({ Key, Value }));
}

/** The tags every image this tool builds carries (docs/architecture.md section 4). */
export function buildTags(input: {
  name: string;
  version: string;
  builtAt: Date;
  executionArn?: string;
}): Record<string, string> {
  return {
    [TAG.name]: input.name,
    [TAG.version]: input.version,
    [TAG.buildDate]: input.builtAt.toISOString(),
    [TAG.managedBy]: MANAGED_BY,
    [TAG.project]: 'pulsar-aws-lab',
    [TAG.environment]: 'lab',
    ...(input.executionArn ? { [TAG.buildExecution]: input.executionArn } : {}),
  };
}

/**
 * Every tag that claims a manager: its key, trimmed and case-folded, is `managedby` (`ManagedBy`,
 * `managedby`, `ManagedBy `, …). EC2 keeps such keys apart, a person reads them as one: each is a
 * claim, read as forgivingly as protectionOf reads Protected, so a variant never leaves an image
 * looking unclaimed.
 */
export function managedByClaims(tags: readonly Tag[] | undefined): Tag[] {
  const folded = TAG.managedBy.toLowerCase();
  return (tags ?? []).filter((t) => t.Key?.trim().toLowerCase() === folded);
}

/**
 * An image is this tool's when it is tagged ManagedBy=pulsar-ami (that exact key and value, and
 * no other ManagedBy claim: see managedByClaims), or when it is named
 * pulsar-base-*, carries no ManagedBy tag at all, and was created before `legacyBefore` (from
 * before the tool: the guide's script made it). The cutoff is what keeps a name from being a
 * claim: anyone who may register an image can name it pulsar-base-99.0.0-…, but nobody can set
 * the CreationDate EC2 gives it, so an untagged image made after the cutoff is not this tool's
 * and is never adopted, validated, published or deleted. `null` adopts no untagged image.
 * An image another tool manages (any ManagedBy claim but the exact ManagedBy=pulsar-ami — another
 * value, or a key such as `managedby` or `ManagedBy ` — whatever its name) is not this tool's
 * either. Everything that is not this tool's is never listed, changed or deleted. (That
 * the account owns it is asked of EC2: every query says Owners=self.)
 */
export function ownershipOf(
  image: Pick<Image, 'Name' | 'Tags' | 'CreationDate'>,
  legacyBefore: Date | null,
): Ownership | null {
  const claims = managedByClaims(image.Tags);
  if (claims.length > 0) {
    const [only] = claims;
    return claims.length === 1 && only?.Key === TAG.managedBy && only.Value === MANAGED_BY ? 'managed' : null;
  }
  if (!image.Name?.startsWith(NAME_PREFIX) || legacyBefore === null) return null;
  const created = Date.parse(image.CreationDate ?? '');
  return !Number.isNaN(created) && created < legacyBefore.getTime() ? 'legacy' : null;
}

/**
 * What keeps an image from being deregistered, in words, or null when nothing does: the
 * `Protected=true` tag, or EC2's deregistration protection in any state that still refuses —
 * `enabled`, `enabled-with-cooldown`, and `disabled-until…` while that time is ahead (the
 * 24-hour cooldown after protection with a cooldown was switched off).
 */
export function protectionOf(
  image: Pick<Image, 'Tags' | 'DeregistrationProtection'>,
  now: Date = new Date(),
): string | null {
  // Read as forgivingly as a person writes it (`protected`, ` TRUE `): never guess unprotected.
  const flag = (image.Tags ?? []).find((t) => t.Key?.trim().toLowerCase() === TAG.protected.toLowerCase());
  if (flag?.Value?.trim().toLowerCase() === 'true') return 'the Protected=true tag';
  const state = image.DeregistrationProtection?.trim() ?? '';
  if (state === 'enabled') return 'EC2 deregistration protection (enabled)';
  if (state === 'enabled-with-cooldown')
    return 'EC2 deregistration protection (enabled, with a 24-hour cooldown)';
  const cooldown = /^disabled-until[-\s:]*(.+)$/i.exec(state);
  if (cooldown) {
    const until = Date.parse(cooldown[1] ?? '');
    if (Number.isNaN(until)) return `EC2 deregistration protection (${state})`;
    if (until > now.getTime()) {
      return `EC2 deregistration protection, in its cooldown until ${new Date(until).toISOString()}`;
    }
    return null;
  }
  // An unknown value that is not plainly off counts as on: never guess an image unprotected.
  return state === '' || state === 'disabled' ? null : `EC2 deregistration protection (${state})`;
}

export function isProtected(image: Pick<Image, 'Tags' | 'DeregistrationProtection'>, now?: Date): boolean {
  return protectionOf(image, now) !== null;
}

function parseValidated(value: string | undefined): boolean | null {
  if (value === undefined) return null;
  return value.toLowerCase() === 'true';
}

/**
 * Maps an EC2 image to this tool's view of it, or null when the image is not this tool's
 * (`legacyBefore`: see ownershipOf).
 */
export function toAmi(image: Image, legacyBefore: Date | null): Ami | null {
  const ownership = ownershipOf(image, legacyBefore);
  if (ownership === null || image.ImageId === undefined) return null;
  const tags = tagsToRecord(image.Tags);
  // A legacy image carries no ManagedBy tag, so this tool never wrote any of its tags: adopting
  // an image (ami-catalogue.ts adoptLegacyAmi) tags ManagedBy before anything records a version
  // or a result on it. A PulsarVersion, Validated, BuildExecutionArn, … tag on a legacy image was
  // written by someone else, and is not read: the version is the name's, and it is not validated.
  if (ownership === 'legacy') for (const key of TOOL_WRITTEN_TAGS) delete tags[key];
  const name = image.Name ?? tags[TAG.name] ?? '';
  const tagged = tags[TAG.version];
  const version = tagged !== undefined && parseVersion(tagged) ? tagged : versionFromName(name);
  const protection = protectionOf(image);
  return {
    imageId: image.ImageId,
    name,
    version,
    state: image.State ?? 'unknown',
    createdAt: image.CreationDate ?? null,
    ownerId: image.OwnerId ?? null,
    ownership,
    validated: parseValidated(tags[TAG.validated]),
    validationDate: tags[TAG.validationDate] ?? null,
    protected: protection !== null,
    ...(protection !== null ? { protection } : {}),
    snapshotIds: (image.BlockDeviceMappings ?? []).flatMap((m) =>
      m.Ebs?.SnapshotId ? [m.Ebs.SnapshotId] : [],
    ),
    ...(image.Architecture ? { architecture: image.Architecture } : {}),
    tags,
  };
}

function timeOf(ami: Pick<Ami, 'createdAt'>): number {
  const t = ami.createdAt === null ? Number.NaN : Date.parse(ami.createdAt);
  return Number.isNaN(t) ? Number.NEGATIVE_INFINITY : t;
}

/**
 * Newest first: by creation time, then by version (numerically), then by id so the order
 * is total and stable across pages.
 */
export function newestFirst(
  a: Pick<Ami, 'createdAt' | 'version' | 'imageId'>,
  b: Pick<Ami, 'createdAt' | 'version' | 'imageId'>,
): number {
  const byTime = timeOf(b) - timeOf(a);
  if (byTime !== 0 && !Number.isNaN(byTime)) return Math.sign(byTime);
  const byVersion = compareVersions(b.version, a.version);
  if (byVersion !== 0) return byVersion;
  return a.imageId < b.imageId ? -1 : a.imageId > b.imageId ? 1 : 0;
}

/**
 * The latest rule's order: the highest Pulsar version first (numerically, across lines: 3.10.0
 * before 3.9.1 whenever each was built), creation time breaking ties within a version, then id.
 * An image without a version sorts last.
 */
export function latestFirst(
  a: Pick<Ami, 'createdAt' | 'version' | 'imageId'>,
  b: Pick<Ami, 'createdAt' | 'version' | 'imageId'>,
): number {
  return compareVersions(b.version, a.version) || newestFirst(a, b);
}

/**
 * The architecture the guide's images are, and the one the account's latest (and each
 * version's parameter without an architecture in its name) stands for. An image that does not
 * say counts as this one.
 */
export const DEFAULT_ARCHITECTURE = 'x86_64';

export interface LatestCriteria {
  /** Only this exact version. */
  version?: string;
  /** Only this architecture (default DEFAULT_ARCHITECTURE): an arm64 build is never the x86_64 latest. */
  architecture?: string;
  /** Unvalidated images too (asked for explicitly; by default only Validated=true). */
  includeUnvalidated?: boolean;
}

/**
 * Whether `ami` may be answered as the latest under `criteria`: available, validated (unless
 * asked otherwise), the version asked, the architecture asked (x86_64 unless asked otherwise).
 */
export function qualifiesAsLatest(
  ami: Pick<Ami, 'state' | 'validated' | 'version' | 'architecture'>,
  criteria: LatestCriteria = {},
): boolean {
  return (
    ami.state === 'available' &&
    (criteria.includeUnvalidated === true || ami.validated === true) &&
    (criteria.version === undefined || ami.version === criteria.version) &&
    (ami.architecture ?? DEFAULT_ARCHITECTURE) === (criteria.architecture ?? DEFAULT_ARCHITECTURE)
  );
}

/**
 * The latest rule, in one place: the published AMI while it still qualifies, else the first
 * qualifying AMI in `latestFirst` order. Publishing (build, delete, re-validation) and `latest`
 * both answer by it, so the account's latest never moves to an older Pulsar line.
 */
export function chooseLatest<
  T extends Pick<Ami, 'imageId' | 'state' | 'validated' | 'version' | 'createdAt' | 'architecture'>,
>(amis: readonly T[], criteria: LatestCriteria = {}, published: T | null = null): T | undefined {
  if (published && qualifiesAsLatest(published, criteria)) return published;
  return amis.filter((ami) => qualifiesAsLatest(ami, criteria)).sort(latestFirst)[0];
}
