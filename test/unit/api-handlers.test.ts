import { DescribeImagesCommand, EC2Client, type Image } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler as deleteAmi } from '../../functions/delete-ami';
import { handler as getAmi } from '../../functions/get-ami';
import { handler as getLatestAmi } from '../../functions/get-latest-ami';
import { handler as listAmis } from '../../functions/list-amis';
import { apiEvent, lambdaContext } from '../support/api-event';

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);

beforeEach(() => {
  ec2Mock.reset();
  ssmMock.reset();
});

const problemOf = (response: { statusCode: number; headers?: Record<string, unknown>; body: string }) => {
  expect(response.headers?.['content-type']).toBe('application/problem+json');
  return JSON.parse(response.body) as { status: number; field?: string; detail: string; requestId?: string };
};

const noAwsCalls = () => {
  expect(ec2Mock.calls()).toHaveLength(0);
  expect(ssmMock.calls()).toHaveLength(0);
};

describe('bad input is a 400 naming the field, before any AWS call', () => {
  const badIds = [
    'ami-xyz',
    'i-0123456789abcdef0',
    '',
    'x'.repeat(2000),
    'AMI-0123456789ABCDEF0',
    'ami-0123',
  ];
  for (const id of badIds) {
    it(`GET and DELETE /amis/${id.slice(0, 24)}${id.length > 24 ? '…' : ''}`, async () => {
      for (const fn of [getAmi, deleteAmi]) {
        const event = apiEvent({ method: 'GET', path: `/amis/${id}`, pathParameters: { id } });
        const response = await fn(event, lambdaContext());
        expect(response.statusCode).toBe(400);
        const problem = problemOf(response);
        expect(problem.field).toBe('id');
        expect(problem.detail).toMatch(/^id must look like ami-0123456789abcdef0/);
        expect(problem.requestId).toBe('11111111-2222-3333-4444-555555555555');
      }
      noAwsCalls();
    });
  }

  it('DELETE with a flag that is not true/false', async () => {
    const event = apiEvent({
      method: 'DELETE',
      path: '/amis/ami-0123456789abcdef0',
      pathParameters: { id: 'ami-0123456789abcdef0' },
      query: { keepSnapshots: 'yes' },
    });
    const response = await deleteAmi(event, lambdaContext());
    expect(response.statusCode).toBe(400);
    expect(problemOf(response)).toMatchObject({
      field: 'keepSnapshots',
      detail: "keepSnapshots must be 'true' or 'false'",
    });
    noAwsCalls();
  });

  it('GET /amis/latest with a malformed version', async () => {
    const response = await getLatestAmi(
      apiEvent({ method: 'GET', path: '/amis/latest', query: { version: '3.0' } }),
      lambdaContext(),
    );
    expect(response.statusCode).toBe(400);
    expect(problemOf(response)).toMatchObject({
      field: 'version',
      detail: "version must be MAJOR.MINOR.PATCH, e.g. 3.0.0, got '3.0'",
    });
    noAwsCalls();
  });

  it('GET /amis with a bad limit or a forged token', async () => {
    const queries: Record<string, string>[] = [
      { limit: '0' },
      { limit: 'ten' },
      { limit: '1001' },
      { nextToken: 'forged' },
    ];
    for (const query of queries) {
      const response = await listAmis(apiEvent({ method: 'GET', path: '/amis', query }), lambdaContext());
      expect(response.statusCode).toBe(400);
      expect(problemOf(response).field).toBe(Object.keys(query)[0]);
    }
    noAwsCalls();
  });
});

describe('errors map to problem documents', () => {
  it('an unknown AMI is a 404', async () => {
    ec2Mock
      .on(DescribeImagesCommand)
      .rejects(
        Object.assign(new Error('does not exist'), { name: 'InvalidAMIID.NotFound', $fault: 'client' }),
      );
    const id = 'ami-0123456789abcdef0';
    const response = await getAmi(
      apiEvent({ method: 'GET', path: `/amis/${id}`, pathParameters: { id } }),
      lambdaContext(),
    );
    expect(response.statusCode).toBe(404);
    expect(problemOf(response).detail).toBe(
      'AMI ami-0123456789abcdef0 was not found in us-west-2 (or is not owned by this account)',
    );
  });

  it('an unexpected failure is a 500 that reveals nothing but the request id', async () => {
    ec2Mock.on(DescribeImagesCommand).rejects(new TypeError('boom: secret internals'));
    const response = await listAmis(apiEvent({ method: 'GET', path: '/amis' }), lambdaContext());
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain('secret internals');
  });

  it('a list succeeds as JSON', async () => {
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: [] });
    const response = await listAmis(apiEvent({ method: 'GET', path: '/amis' }), lambdaContext());
    expect(response.statusCode).toBe(200);
    expect(response.headers?.['content-type']).toBe('application/json');
    expect(JSON.parse(response.body)).toEqual({ items: [] });
  });
});

describe('GET /amis paging', () => {
  it('scans once for a walk through the pages, and afresh for a new first page', async () => {
    const images: Image[] = Array.from({ length: 5 }, (_, i) => ({
      ImageId: `ami-${String(i + 1).padStart(17, '0')}`,
      Name: `pulsar-base-3.0.${i}-20250101000000`,
      State: 'available',
      CreationDate: new Date(Date.UTC(2025, 0, 1 + i)).toISOString(),
      Tags: [{ Key: 'ManagedBy', Value: 'pulsar-ami' }],
    }));
    ec2Mock.on(DescribeImagesCommand).resolves({ Images: images });
    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      const query: Record<string, string> = { limit: '2', ...(nextToken ? { nextToken } : {}) };
      const response = await listAmis(apiEvent({ method: 'GET', path: '/amis', query }), lambdaContext());
      const body = JSON.parse(response.body) as { items: { imageId: string }[]; nextToken?: string };
      seen.push(...body.items.map((i) => i.imageId));
      nextToken = body.nextToken;
    } while (nextToken);
    expect(seen).toEqual(images.map((i) => i.ImageId).reverse());
    expect(ec2Mock.commandCalls(DescribeImagesCommand)).toHaveLength(2);
    await listAmis(apiEvent({ method: 'GET', path: '/amis' }), lambdaContext());
    expect(ec2Mock.commandCalls(DescribeImagesCommand)).toHaveLength(4);
  });
});
