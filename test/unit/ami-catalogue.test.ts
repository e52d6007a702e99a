import { DescribeImagesCommand, EC2Client, type Image } from '@aws-sdk/client-ec2';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { decodeCursor, getAmi, pageOf, scanAmis } from '../../functions/lib/ami-catalogue';
import { AmiNotManagedError, NoAmiFoundError } from '../../functions/lib/errors';
import { latestAmi } from '../../functions/lib/latest-ami';

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const ec2 = new EC2Client({ region: 'us-west-2' });
const ssm = new SSMClient({ region: 'us-west-2' });

const hex = (n: number) => n.toString(16).padStart(17, '0');
const img = (n: number, extra: Partial<Image> = {}): Image => ({
  ImageId: `ami-${hex(n)}`,
  Name: `pulsar-base-3.0.${n}-20250101000000`,
  State: 'available',
  CreationDate: new Date(Date.UTC(2025, 0, 1) + n * 60_000).toISOString(),
  Tags: [{ Key: 'ManagedBy', Value: 'pulsar-ami' }],
  ...extra,
});

beforeEach(() => {
  ec2Mock.reset();
  ssmMock.reset();
});

describe('scanAmis', () => {
  it('asks for both ownership rules, follows every page, dedupes, keeps only this tool’s, newest first', async () => {
    ec2Mock.on(DescribeImagesCommand).callsFake(async (input) => {
      const byTag = input.Filters?.[0]?.Name === 'tag:ManagedBy';
      if (byTag)
        return input.NextToken ? { Images: [img(3)] } : { Images: [img(1), img(2)], NextToken: 'p2' };
      return { Images: [img(2), img(4, { Tags: [] }), img(5, { Name: 'not-ours', Tags: [] })] };
    });
    const amis = await scanAmis(ec2, 1000);
    expect(amis.map((a) => a.imageId)).toEqual([img(4), img(3), img(2), img(1)].map((i) => i.ImageId));
    expect(amis.find((a) => a.imageId === img(4).ImageId)?.ownership).toBe('legacy');
    const inputs = ec2Mock.commandCalls(DescribeImagesCommand).map((c) => c.args[0].input);
    expect(inputs).toHaveLength(3);
    for (const input of inputs) {
      expect(input.Owners).toEqual(['self']);
      expect(input.MaxResults).toBe(1000);
    }
    expect(inputs.map((i) => i.Filters)).toContainEqual([{ Name: 'name', Values: ['pulsar-base-*'] }]);
  });
});

describe('pageOf', () => {
  it('walks the newest-first list in pages without gaps or repeats, even when an item is removed between pages', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: Array.from({ length: 7 }, (_, i) => img(i + 1)) });
    const all = await scanAmis(ec2, 1000);
    const first = pageOf(all, 3, null);
    expect(first.items.map((a) => a.imageId)).toEqual(all.slice(0, 3).map((a) => a.imageId));
    const token = first.nextToken;
    expect(token).toBeDefined();
    const cursor = decodeCursor(token ?? '');
    const withoutLast = all.filter((a) => a.imageId !== first.items.at(-1)?.imageId);
    const second = pageOf(withoutLast, 3, cursor);
    expect(second.items.map((a) => a.imageId)).toEqual(all.slice(3, 6).map((a) => a.imageId));
    const third = pageOf(all, 3, decodeCursor(second.nextToken ?? ''));
    expect(third.items.map((a) => a.imageId)).toEqual([all[6]?.imageId]);
    expect(third.nextToken).toBeUndefined();
  });

  it('rejects tokens it did not issue', () => {
    expect(decodeCursor('garbage!!')).toBeNull();
    expect(decodeCursor(Buffer.from('{"x":1}').toString('base64url'))).toBeNull();
  });
});

describe('getAmi', () => {
  it('refuses an account image that is not this tool’s', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [img(1, { Name: 'ubuntu', Tags: [] })] });
    await expect(getAmi(ec2, img(1).ImageId ?? '', 'us-west-2')).rejects.toBeInstanceOf(AmiNotManagedError);
  });
});

describe('latestAmi', () => {
  const settings = {
    region: 'us-west-2',
    latestAmiParameter: '/pulsar-ami/dev/latest-ami-id',
    listPageSize: 1000,
  };
  const validated = (n: number, extra: Partial<Image> = {}) =>
    img(n, {
      Tags: [
        { Key: 'ManagedBy', Value: 'pulsar-ami' },
        { Key: 'Validated', Value: 'true' },
      ],
      ...extra,
    });
  const nothingPublished = () =>
    ssmMock
      .on(GetParameterCommand)
      .rejects(Object.assign(new Error('missing'), { name: 'ParameterNotFound' }));

  it('answers from the published parameter with one SSM read and one read of that image, no scan', async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: img(7).ImageId } });
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [validated(7)] });
    const latest = await latestAmi({ ec2, ssm }, settings, {});
    expect(latest).toMatchObject({ imageId: img(7).ImageId, source: 'parameter', ami: { version: '3.0.7' } });
    expect(ssmMock.calls()).toHaveLength(1);
    expect(ec2Mock.commandCalls(DescribeImagesCommand).map((c) => c.args[0].input)).toEqual([
      { ImageIds: [img(7).ImageId], Owners: ['self'], IncludeDisabled: true },
    ]);
  });

  it('ignores a published AMI that is gone, not available, not this tool’s or not validated, and searches instead', async () => {
    ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: img(9).ImageId } });
    const gone = Object.assign(new Error('gone'), { name: 'InvalidAMIID.NotFound', $fault: 'client' });
    const published: (Image | Error)[] = [
      gone,
      validated(9, { State: 'failed' }),
      img(9, { Name: 'other', Tags: [] }),
      img(9),
      validated(9, {
        Tags: [
          { Key: 'ManagedBy', Value: 'pulsar-ami' },
          { Key: 'Validated', Value: 'false' },
        ],
      }),
    ];
    for (const answer of published) {
      ec2Mock.reset();
      ec2Mock.on(DescribeImagesCommand).callsFake(async (input) => {
        if (!input.ImageIds) return { Images: [validated(1), validated(2), img(3)] };
        if (answer instanceof Error) throw answer;
        return { Images: [answer] };
      });
      const latest = await latestAmi({ ec2, ssm }, settings, {});
      expect(latest).toMatchObject({ imageId: img(2).ImageId, source: 'search' });
    }
  });

  it('with nothing published, answers the highest validated version, not the most recently created', async () => {
    nothingPublished();
    const newerLine = validated(1, {
      Name: 'pulsar-base-3.10.0-20250701000000',
      CreationDate: '2025-07-01T00:00:00.000Z',
    });
    const olderPatch = validated(2, {
      Name: 'pulsar-base-3.9.1-20250801000000',
      CreationDate: '2025-08-01T00:00:00.000Z',
    });
    const unvalidatedHigher = img(3, {
      Name: 'pulsar-base-4.0.0-20250901000000',
      CreationDate: '2025-09-01T00:00:00.000Z',
    });
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [olderPatch, newerLine, unvalidatedHigher] });
    const latest = await latestAmi({ ec2, ssm }, settings, {});
    expect(latest).toMatchObject({
      imageId: newerLine.ImageId,
      source: 'search',
      ami: { version: '3.10.0' },
    });
    for (const call of ec2Mock.commandCalls(DescribeImagesCommand)) {
      expect(call.args[0].input.Filters).toContainEqual({ Name: 'state', Values: ['available'] });
    }
    const any = await latestAmi({ ec2, ssm }, settings, { includeUnvalidated: true });
    expect(any.imageId).toBe(unvalidatedHigher.ImageId);
  });

  it('says no validated AMI when only unvalidated ones exist, and answers them only when asked', async () => {
    nothingPublished();
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [img(1), img(2)] });
    const error = await latestAmi({ ec2, ssm }, settings, {}).catch((e) => e);
    expect(error).toBeInstanceOf(NoAmiFoundError);
    expect(error.message).toBe('No validated Pulsar AMI found in us-west-2');
    const any = await latestAmi({ ec2, ssm }, settings, { includeUnvalidated: true });
    expect(any.imageId).toBe(img(2).ImageId);
  });

  it('filters by version, and says what it looked for when nothing matches', async () => {
    nothingPublished();
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [validated(1), img(2), img(3)] });
    expect((await latestAmi({ ec2, ssm }, settings, { version: '3.0.1' })).imageId).toBe(img(1).ImageId);
    const unvalidated = await latestAmi({ ec2, ssm }, settings, { version: '3.0.2' }).catch((e) => e);
    expect(unvalidated.message).toBe('No validated Pulsar AMI for version 3.0.2 found in us-west-2');
    const byVersion = await latestAmi({ ec2, ssm }, settings, { version: '3.0.2', includeUnvalidated: true });
    expect(byVersion.imageId).toBe(img(2).ImageId);
    const none = await latestAmi({ ec2, ssm }, settings, {
      version: '9.9.9',
      includeUnvalidated: true,
    }).catch((e) => e);
    expect(none).toBeInstanceOf(NoAmiFoundError);
    expect(none.message).toBe('No Pulsar AMI for version 9.9.9 found in us-west-2');
  });
});
