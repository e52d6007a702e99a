/**
 * Only this machine may drive the sandbox. Requests signed with the documented credentials
 * but carrying a foreign Host (DNS rebinding) or a foreign Origin (a web page) are refused
 * with 403 in the protocol their client speaks, and change nothing; the unsigned control
 * interface takes only application/json, so a cross-site form post cannot reach it; every
 * control value that can become a path is checked, and an image tag cannot steer a file out
 * of an instance's root. Listening beyond loopback needs an explicit opt-in.
 */
import { existsSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import { CreateTagsCommand, type EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { sandboxCredentials } from '../../sandbox/credentials';
import { type Sandbox, startSandbox } from '../../sandbox/server';
import { sandboxEc2, sandboxImageId } from '../support/sandbox-clients';

let sandbox: Sandbox;
let ec2: EC2Client;
let imageId: string;

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request to the sandbox's socket with exactly these headers (Host included). */
function raw(method: string, path: string, headers: Record<string, string>, body = ''): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: sandbox.port,
        method,
        path,
        headers: body ? { 'content-length': String(Buffer.byteLength(body)), ...headers } : headers,
        setHost: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A request signed with the sandbox's credentials for `service`, as if sent to `host`. */
async function signed(
  service: string,
  host: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string,
): Promise<Raw> {
  const signer = new SignatureV4({
    credentials: sandboxCredentials,
    region: 'us-west-2',
    service,
    sha256: Sha256,
  });
  const [pathname = '/', query] = path.split('?');
  const out = await signer.sign({
    method,
    protocol: 'http:',
    hostname: host.split(':')[0] ?? host,
    path: pathname,
    query: query ? Object.fromEntries(new URLSearchParams(query)) : undefined,
    headers: { ...headers, host },
    body,
  });
  return raw(method, path, out.headers as Record<string, string>, body);
}

const own = () => `127.0.0.1:${sandbox.port}`;
const evil = () => `evil.example:${sandbox.port}`;

const terminate = (host: string, extra: Record<string, string> = {}) =>
  signed(
    'ec2',
    host,
    'POST',
    '/',
    { 'content-type': 'application/x-www-form-urlencoded', ...extra },
    `Action=DeregisterImage&Version=2016-11-15&ImageId=${imageId}`,
  );

const putParameter = (host: string) =>
  signed(
    'ssm',
    host,
    'POST',
    '/',
    { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AmazonSSM.PutParameter' },
    JSON.stringify({ Name: '/gate/probe', Value: 'x', Type: 'String' }),
  );

const imageExists = () => sandbox.world.region('us-west-2').images.has(imageId);

beforeAll(async () => {
  sandbox = await startSandbox({ port: 0 });
  ec2 = sandboxEc2(sandbox.url);
});

afterAll(async () => {
  ec2.destroy();
  await sandbox.close();
});

beforeEach(async () => {
  sandbox.reset();
  sandbox.calls.clear();
  imageId = await sandboxImageId(sandbox.url, 'pulsar-base-3.0.0-20250615103000');
});

describe('Host', () => {
  it('refuses a signed EC2 call sent with a foreign Host, as EC2 XML, and changes nothing', async () => {
    const out = await terminate(evil());
    expect(out.status).toBe(403);
    expect(out.body).toContain('<Code>UnauthorizedOperation</Code>');
    expect(out.body).toContain('answers only this machine');
    expect(imageExists()).toBe(true);
    expect(sandbox.calls.list()).toEqual([]);
  });

  it('refuses a signed SSM call with a foreign Host as AccessDeniedException JSON', async () => {
    const out = await putParameter(evil());
    expect(out.status).toBe(403);
    expect(JSON.parse(out.body)).toMatchObject({ __type: 'AccessDeniedException' });
    expect(out.headers['x-amzn-errortype']).toBe('AccessDeniedException');
    expect(sandbox.world.region('us-west-2').parameters.has('/gate/probe')).toBe(false);
    expect(sandbox.calls.list()).toEqual([]);
  });

  it('refuses a signed API delete with a foreign Host', async () => {
    const out = await signed('execute-api', evil(), 'DELETE', `/amis/${imageId}`, {}, '');
    expect(out.status).toBe(403);
    expect(JSON.parse(out.body).message).toContain('answers only this machine');
    expect(imageExists()).toBe(true);
    expect(sandbox.calls.list()).toEqual([]);
  });

  it.each([
    ['a foreign name', () => evil()],
    ['a name that ends in a loopback address', () => `127.0.0.1.evil.example:${sandbox.port}`],
    ['another port', () => `127.0.0.1:${sandbox.port + 1}`],
    ['no port', () => '127.0.0.1'],
    ['a private address', () => `192.168.1.10:${sandbox.port}`],
    ['user info', () => `evil@127.0.0.1:${sandbox.port}`],
  ])('refuses the control interface for %s and does nothing', async (_what, host) => {
    const out = await raw(
      'POST',
      '/_sandbox/reset',
      { host: host(), 'content-type': 'application/json' },
      '{"seed":false}',
    );
    expect(out.status).toBe(403);
    expect(JSON.parse(out.body)).toMatchObject({ code: 'Forbidden' });
    expect(imageExists()).toBe(true);
  });

  it('refuses a second Host header and an absolute-form target naming another authority', async () => {
    const twice = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: sandbox.port,
          method: 'POST',
          path: '/_sandbox/reset',
          setHost: false,
          headers: [
            ['host', own()],
            ['host', 'evil.example'],
            ['content-type', 'application/json'],
          ].flat(),
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end('{"seed":false}');
    });
    expect(twice).toBe(403);
    const absolute = await raw(
      'POST',
      'http://evil.example/_sandbox/reset',
      { host: own(), 'content-type': 'application/json' },
      '{"seed":false}',
    );
    expect(absolute.status).toBe(403);
    expect(imageExists()).toBe(true);
  });

  it('refuses a request with no Host at all', async () => {
    const out = await raw(
      'POST',
      '/_sandbox/reset',
      { 'content-type': 'application/json' },
      '{"seed":false}',
    );
    // Node's HTTP server answers 400 to an HTTP/1.1 request without Host before the sandbox sees it.
    expect([400, 403]).toContain(out.status);
    expect(imageExists()).toBe(true);
  });

  it.each([
    ['127.0.0.1', () => own()],
    ['localhost', () => `localhost:${sandbox.port}`],
    ['LOCALHOST', () => `LOCALHOST:${sandbox.port}`],
    ['[::1]', () => `[::1]:${sandbox.port}`],
    ['127.1.2.3', () => `127.1.2.3:${sandbox.port}`],
  ])('serves the loopback Host %s', async (_what, host) => {
    const out = await raw('GET', '/_sandbox/health', { host: host() });
    expect(out.status).toBe(200);
    const call = await terminate(host());
    expect(call.status).toBe(200);
    expect(imageExists()).toBe(false);
  });
});

describe('Origin', () => {
  it.each([
    ['a foreign page', 'https://evil.example'],
    ['a foreign page on the same port', () => `http://evil.example:${sandbox.port}`],
    ['an opaque origin', 'null'],
    ['the sandbox over https', () => `https://127.0.0.1:${sandbox.port}`],
    ['the sandbox on another port', () => `http://127.0.0.1:${sandbox.port + 1}`],
  ])('refuses a signed call from %s and changes nothing', async (_what, origin) => {
    const value = typeof origin === 'function' ? origin() : origin;
    const out = await terminate(own(), { origin: value });
    expect(out.status).toBe(403);
    expect(out.body).toContain('does not answer requests from the web page');
    expect(imageExists()).toBe(true);
    const control = await raw(
      'POST',
      '/_sandbox/reset',
      { host: own(), origin: value, 'content-type': 'application/json' },
      '{"seed":false}',
    );
    expect(control.status).toBe(403);
    expect(imageExists()).toBe(true);
    expect(sandbox.calls.list()).toEqual([]);
  });

  it("serves a page of the sandbox's own origin", async () => {
    const out = await terminate(own(), { origin: `http://localhost:${sandbox.port}` });
    expect(out.status).toBe(200);
    expect(imageExists()).toBe(false);
  });
});

describe('control interface content type', () => {
  it.each([
    ['text/plain (a cross-site form post)', 'text/plain;charset=UTF-8'],
    ['a form', 'application/x-www-form-urlencoded'],
    ['multipart', 'multipart/form-data; boundary=x'],
    ['none', undefined],
    ['json look-alike', 'application/jsonp'],
  ])('refuses %s with 415 and does nothing', async (_what, type) => {
    const headers: Record<string, string> = { host: own(), ...(type ? { 'content-type': type } : {}) };
    const reset = await raw('POST', '/_sandbox/reset', headers, '{"seed":false}');
    expect(reset.status).toBe(415);
    expect(JSON.parse(reset.body)).toMatchObject({ code: 'UnsupportedMediaType' });
    const faults = await raw('PUT', '/_sandbox/faults', headers, '{"noCapacity":true}');
    expect(faults.status).toBe(415);
    expect(imageExists()).toBe(true);
    expect(sandbox.faults.get()).toEqual({});
  });

  it('takes a bodiless DELETE (no page can send one across sites without asking)', async () => {
    sandbox.faults.set({ noCapacity: true });
    const out = await raw('DELETE', '/_sandbox/faults', { host: own() });
    expect(out.status).toBe(200);
    expect(sandbox.faults.get()).toEqual({});
  });

  it('refuses a DELETE with a body that is not JSON', async () => {
    sandbox.faults.set({ noCapacity: true });
    const out = await raw('DELETE', '/_sandbox/faults', { host: own(), 'content-type': 'text/plain' }, 'x');
    expect(out.status).toBe(415);
    expect(sandbox.faults.get()).toEqual({ noCapacity: true });
    sandbox.faults.clear();
  });

  it('takes application/json with a charset', async () => {
    const out = await raw(
      'POST',
      '/_sandbox/reset',
      { host: own(), 'content-type': 'application/json; charset=utf-8' },
      '{"seed":false}',
    );
    expect(out.status).toBe(200);
    expect(imageExists()).toBe(false);
  });
});

describe('values that could become paths', () => {
  const post = (path: string, body: unknown) =>
    raw(
      'POST',
      `/_sandbox/${path}`,
      { host: own(), 'content-type': 'application/json' },
      JSON.stringify(body),
    );
  const imageCount = () => sandbox.world.region('us-west-2').images.size;

  it.each([
    ['version', { images: [{ name: 'x', version: 'x/../../../../var/tmp/poc' }] }, 'images.0.version'],
    [
      'contents.pulsarVersion',
      { images: [{ name: 'x', contents: { pulsarVersion: '../../../../../var/tmp/poc' } }] },
      'images.0.contents.pulsarVersion',
    ],
    ['region', { region: '../../etc', images: [{ name: 'x' }] }, 'region'],
    ['a batch template version', { count: 2, images: [{ version: '1.0.0/../../x' }] }, 'version'],
  ])('refuses an image %s that is not the product pattern', async (_what, body, field) => {
    const before = imageCount();
    const out = await post('images', body);
    expect(out.status).toBe(400);
    expect(JSON.parse(out.body).error).toContain(field);
    expect(imageCount()).toBe(before);
  });

  it.each([
    ['imageId', { imageId: '../../ami-1' }],
    ['region', { imageId: 'ami-12345678', region: 'us-west-2/../../x' }],
    ['instanceType', { imageId: 'ami-12345678', instanceType: '../t3.micro' }],
  ])('refuses an instance %s that is not the product pattern', async (_what, body) => {
    const before = sandbox.world.region('us-west-2').instances.size;
    const out = await post('instances', body);
    expect(out.status).toBe(400);
    expect(sandbox.world.region('us-west-2').instances.size).toBe(before);
  });

  it.each([
    [
      '51 tags',
      {
        images: [
          { name: 'x', tags: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) },
        ],
      },
    ],
    ['a tag value over 256 characters', { images: [{ name: 'x', tags: { k: 'v'.repeat(257) } }] }],
    ['a description over 255 characters', { images: [{ name: 'x', description: 'd'.repeat(256) }] }],
  ])("refuses %s (EC2's own limits), creating nothing", async (_what, body) => {
    const before = imageCount();
    const out = await post('images', body);
    expect(out.status).toBe(400);
    expect(imageCount()).toBe(before);
  });

  it('refuses a fault imageId that is not an AMI id', async () => {
    const out = await raw(
      'PUT',
      '/_sandbox/faults',
      { host: own(), 'content-type': 'application/json' },
      JSON.stringify({ commandHangs: { imageId: '../x' } }),
    );
    expect(out.status).toBe(400);
    expect(sandbox.faults.get()).toEqual({});
  });

  it.each(['control', 'EC2 CreateTags'])(
    'a PulsarVersion tag set through %s never writes outside the instance root',
    async (how) => {
      const poc = `/var/tmp/pulsar-ami-poc-${process.pid}`;
      const tag = `x/../../../../../../../../../..${poc}`;
      let target = imageId;
      if (how === 'control') {
        const out = await post('images', {
          images: [
            {
              name: 'pulsar-base-3.0.0-20250101000000',
              tags: { ManagedBy: 'pulsar-ami', PulsarVersion: tag },
            },
          ],
        });
        target = JSON.parse(out.body).images[0].imageId;
      } else {
        await ec2.send(
          new CreateTagsCommand({ Resources: [imageId], Tags: [{ Key: 'PulsarVersion', Value: tag }] }),
        );
      }
      const launched = await ec2.send(
        new RunInstancesCommand({ ImageId: target, InstanceType: 't3.micro', MinCount: 1, MaxCount: 1 }),
      );
      const id = launched.Instances?.[0]?.InstanceId ?? '';
      expect(existsSync(`${poc}.jar`)).toBe(false);
      const root = sandbox.world.region('us-west-2').instances.get(id)?.rootDir ?? '';
      // Still a Pulsar image; its jar (if any) is the version it was made with, never the tag's path.
      for (const jar of readdirSync(join(root, 'opt/pulsar/lib'))) {
        expect(jar).toMatch(/^org\.apache\.pulsar-pulsar-broker-\d+\.\d+\.\d+\.jar$/);
      }
      expect(existsSync(join(root, 'opt/pulsar/bin/pulsar'))).toBe(true);
    },
  );
});

describe('listening address', () => {
  it('refuses a non-loopback address without the opt-in, and says how to opt in', async () => {
    await expect(startSandbox({ port: 0, host: '0.0.0.0', seed: false })).rejects.toThrow(
      /refusing to listen on 0\.0\.0\.0: only loopback addresses keep the sandbox on this machine \(npm run sandbox -- --host 0\.0\.0\.0 --allow-remote/,
    );
  });

  it('listens on it with the opt-in and warns', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const exposed = await startSandbox({ port: 0, host: '0.0.0.0', allowRemote: true, seed: false });
      // This machine reaches a wildcard listener at 127.0.0.1: that is the URL it gives out.
      expect(exposed.url).toBe(`http://127.0.0.1:${exposed.port}`);
      await exposed.close();
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/WARNING: listening on 0\.0\.0\.0/));
    } finally {
      warn.mockRestore();
    }
  });
});
