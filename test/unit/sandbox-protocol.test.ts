/** The sandbox's pure parts: query parsing, EC2 filters and pagination, serverless.yml routes, SigV4. */
import { resolve } from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { apiOf, matchRoute } from '../../sandbox/api-gateway';
import { sandboxCredentials } from '../../sandbox/credentials';
import { compileFilters, wildcard } from '../../sandbox/ec2/models/filters';
import { paginate } from '../../sandbox/ec2/protocol/pagination';
import { QueryParams } from '../../sandbox/query';
import { loadServerlessApp } from '../../sandbox/serverless-config';
import { verifySigV4 } from '../../sandbox/sigv4';
import { escapeXml, items, xmlDocument } from '../../sandbox/xml';

describe('QueryParams', () => {
  const params = new QueryParams(
    'Action=DescribeImages&Owner.2=amazon&Owner.1=self&Filter.1.Name=name&Filter.1.Value.1=pulsar-base-*' +
      '&Filter.1.Value.2=x%20y&Filter.10.Name=tag%3AManagedBy&Filter.10.Value.1=pulsar-ami&Tag.1.Key=A&Tag.1.Value=&DryRun=true',
  );
  it('reads flattened lists in index order, filters and tag structs', () => {
    expect(params.action).toBe('DescribeImages');
    expect(params.list('Owner')).toEqual(['self', 'amazon']);
    expect(params.filters()).toEqual([
      { name: 'name', values: ['pulsar-base-*', 'x y'] },
      { name: 'tag:ManagedBy', values: ['pulsar-ami'] },
    ]);
    expect(params.structs('Tag')).toEqual([{ Key: 'A', Value: '' }]);
    expect(params.bool('DryRun')).toBe(true);
    expect(params.bool('Missing')).toBe(false);
  });
  it('rejects a non-numeric integer parameter', () => {
    expect(() => new QueryParams('MaxResults=ten').int('MaxResults')).toThrow(/maxResults/);
  });
});

describe('EC2 filters', () => {
  it('matches * and ? wildcards and escapes everything else', () => {
    expect(wildcard('pulsar-base-3.?.0-*')('pulsar-base-3.1.0-2025')).toBe(true);
    expect(wildcard('pulsar-base-3.?.0-*')('pulsar-base-3.10.0-2025')).toBe(false);
    expect(wildcard('a.c')('abc')).toBe(false);
    expect(wildcard('a+(b)')('a+(b)')).toBe(true);
  });
  it('ORs values within a filter and ANDs filters; tag filters read the tags', () => {
    const items: { id: string; state: string; tags: Record<string, string> }[] = [
      { id: '1', state: 'available', tags: { Env: 'lab' } },
      { id: '2', state: 'pending', tags: { Env: 'prod' } },
      { id: '3', state: 'available', tags: {} },
    ];
    const test = compileFilters(
      [
        { name: 'state', values: ['available', 'pending'] },
        { name: 'tag:Env', values: ['lab', 'prod'] },
      ],
      { state: (i: (typeof items)[number]) => i.state },
      (i) => i.tags,
    );
    expect(items.filter(test).map((i) => i.id)).toEqual(['1', '2']);
    const keyed = compileFilters(
      [{ name: 'tag-key', values: ['Env'] }],
      {},
      (i: (typeof items)[number]) => i.tags,
    );
    expect(items.filter(keyed).map((i) => i.id)).toEqual(['1', '2']);
    expect(() => compileFilters([{ name: 'nope', values: [] }], {}, () => ({}))).toThrow(/filter 'nope'/);
  });
});

describe('EC2 pagination', () => {
  const ids = Array.from({ length: 12 }, (_, i) => `ami-${String(i).padStart(17, '0')}`);
  it('returns pages in id order with a token naming the last id, so removals between pages skip nothing', () => {
    const first = paginate('images', [...ids].reverse(), (x) => x, 5, undefined);
    expect(first.page).toEqual(ids.slice(0, 5));
    expect(first.nextToken).toBeTruthy();
    const remaining = ids.filter((id) => id !== ids[2] && id !== ids[6]);
    const second = paginate('images', remaining, (x) => x, 5, first.nextToken);
    expect(second.page).toEqual([ids[5], ids[7], ids[8], ids[9], ids[10]]);
    const third = paginate('images', remaining, (x) => x, 5, second.nextToken);
    expect(third).toEqual({ page: [ids[11]] });
  });
  it('refuses a token from another listing', () => {
    const { nextToken } = paginate('snapshots', [...ids], (x) => x, 5, undefined);
    expect(() => paginate('images', [...ids], (x) => x, 5, nextToken)).toThrow(/nextToken/);
  });
});

describe('XML', () => {
  it('writes elements in order, lists as items, skips undefined and escapes text', () => {
    expect(xmlDocument('R', { a: 'x<y', b: undefined, c: items([{ k: 1 }, { k: true }]) }, 'urn:x')).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><R xmlns="urn:x"><a>x&lt;y</a><c><item><k>1</k></item><item><k>true</k></item></c></R>',
    );
    expect(escapeXml(`'"&`)).toBe('&apos;&quot;&amp;');
  });
});

describe('serverless.yml routes', () => {
  const app = loadServerlessApp(resolve(import.meta.dirname, '../e2e/fixtures/sandbox-api.yml'), {
    stage: 'test',
    region: 'eu-west-1',
    accountId: '123456789012',
  });
  const api = apiOf(app);
  it('resolves provider environment variables for the stage and skips references it cannot answer', () => {
    expect(api.serviceName).toBe('sandbox-fixture');
    expect(app.environment).toEqual({ FIXTURE_STAGE: 'test', FIXTURE_NAME: 'sandbox-fixture-test' });
  });
  it('takes http events in both forms, with handler modules and function names', () => {
    expect(api.routes.map((r) => `${r.method} ${r.resource} ${r.functionName}`)).toEqual([
      'GET /items/{id} sandbox-fixture-test-echo',
      'DELETE /items/{id} sandbox-fixture-test-echo',
      'GET /items/latest sandbox-fixture-test-latest',
      'POST /open sandbox-fixture-test-open',
      'GET /broken sandbox-fixture-test-broken',
    ]);
    expect(api.routes[0]?.modulePath).toMatch(/fixtures\/sandbox-echo-handler\.ts$/);
    expect(api.routes[0]?.authorizer).toBe('aws_iam');
    expect(api.routes[3]?.authorizer).toBeNull();
  });
  it('lets literal segments win over parameters, and refuses another method on the chosen resource', () => {
    expect(matchRoute(api.routes, 'GET', ['items', 'latest'])?.route.functionKey).toBe('latest');
    expect(matchRoute(api.routes, 'GET', ['items', 'ami-1'])?.pathParameters).toEqual({ id: 'ami-1' });
    expect(matchRoute(api.routes, 'DELETE', ['items', 'latest'])).toBeNull();
    expect(matchRoute(api.routes, 'GET', ['items'])).toBeNull();
  });
  it('reads the project’s serverless.yml routes', () => {
    const realApp = loadServerlessApp(resolve(import.meta.dirname, '../../serverless.yml'), {
      stage: 'dev',
      region: 'us-west-2',
      accountId: '123456789012',
    });
    const real = apiOf(realApp);
    expect(realApp.environment.LATEST_AMI_PARAMETER).toBe('/pulsar-ami/dev/latest-ami-id');
    const routes = real.routes.map((r) => `${r.method} ${r.resource}`);
    expect(routes).toEqual(
      expect.arrayContaining(['GET /amis', 'GET /amis/latest', 'GET /amis/{id}', 'DELETE /amis/{id}']),
    );
  });
  it('reads the deploy-time PULSAR_AMI_… settings it is given (npm run sandbox gives its environment), nothing else', () => {
    const load = (env?: Record<string, string>) =>
      loadServerlessApp(resolve(import.meta.dirname, '../../serverless.yml'), {
        stage: 'dev',
        region: 'us-west-2',
        accountId: '123456789012',
        ...(env ? { env } : {}),
      }).environment;
    // Without: every setting its default (what the tests run with, whatever the shell has).
    expect(load()).toMatchObject({ CLEANUP_KEEP: '3', CLEANUP_DEPRECATE_AFTER_DAYS: '' });
    const staged = load({
      PULSAR_AMI_CLEANUP_KEEP: '5',
      PULSAR_AMI_CLEANUP_DEPRECATE_AFTER_DAYS: '30',
      PULSAR_AMI_CLEANUP_DISABLE_AFTER_DAYS: '',
    });
    expect(staged).toMatchObject({
      CLEANUP_KEEP: '5',
      CLEANUP_DEPRECATE_AFTER_DAYS: '30',
      // Empty is the default's own meaning ('' here), as serverless reads an empty variable.
      CLEANUP_DISABLE_AFTER_DAYS: '',
    });
  });
});

describe('SigV4 verification', () => {
  async function signed(body: string, secret: string = sandboxCredentials.secretAccessKey) {
    const signer = new SignatureV4({
      credentials: { ...sandboxCredentials, secretAccessKey: secret },
      region: 'us-west-2',
      service: 'ec2',
      sha256: Sha256,
    });
    const request = await signer.sign({
      method: 'POST',
      protocol: 'http:',
      hostname: '127.0.0.1',
      port: 4566,
      path: '/',
      headers: { host: '127.0.0.1:4566', 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    return request.headers;
  }
  const body = 'Action=DescribeImages&Version=2016-11-15';

  it('accepts a request signed with the sandbox secret (host with port) and reads the scope', async () => {
    const outcome = await verifySigV4({
      method: 'POST',
      path: '/',
      query: {},
      headers: await signed(body),
      body: Buffer.from(body),
    });
    expect(outcome).toEqual({
      ok: true,
      scope: expect.objectContaining({
        region: 'us-west-2',
        service: 'ec2',
        accessKeyId: sandboxCredentials.accessKeyId,
      }),
    });
  });
  it('refuses a changed body, a changed host and a wrong secret', async () => {
    const headers = await signed(body);
    const tampered = await verifySigV4({
      method: 'POST',
      path: '/',
      query: {},
      headers,
      body: Buffer.from(`${body}&DryRun=true`),
    });
    expect(tampered).toMatchObject({ ok: false, reason: 'bad-signature' });
    const otherHost = await verifySigV4({
      method: 'POST',
      path: '/',
      query: {},
      headers: { ...headers, host: '127.0.0.1:4567' },
      body: Buffer.from(body),
    });
    expect(otherHost).toMatchObject({ ok: false, reason: 'bad-signature' });
    const wrong = await verifySigV4({
      method: 'POST',
      path: '/',
      query: {},
      headers: await signed(body, 'x'),
      body: Buffer.from(body),
    });
    expect(wrong).toMatchObject({ ok: false, reason: 'bad-signature' });
    const none = await verifySigV4({
      method: 'POST',
      path: '/',
      query: {},
      headers: {},
      body: Buffer.from(body),
    });
    expect(none).toMatchObject({ ok: false, reason: 'missing' });
  });
});
