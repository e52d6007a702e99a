/**
 * A local serverless plugin: after `serverless deploy`, zips packer/ and buildspec/ (the
 * CodeBuild project's source) and uploads the zip to the stack's BuildSourceBucket, at the
 * key the project builds from (custom.buildSourceKey). `serverless package` is untouched: it
 * stays offline and needs no credentials.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import yazl from 'yazl';

/** What the build needs from the repository, relative to the service directory. */
export const SOURCE_DIRS = ['packer', 'buildspec'];

/** A fixed time for every entry, so the same files always make the same zip. */
const EPOCH = new Date('2000-01-01T00:00:00Z');

function filesUnder(root, dir) {
  const found = [];
  const walk = (current) => {
    for (const entry of readdirSync(current, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) found.push(relative(root, path).split(sep).join('/'));
    }
  };
  walk(join(root, dir));
  return found;
}

/** The zip of SOURCE_DIRS under `root`, with each file's mode kept (scripts stay executable). */
export function buildSourceZip(root) {
  const zip = new yazl.ZipFile();
  const names = SOURCE_DIRS.flatMap((dir) => filesUnder(root, dir));
  for (const name of names) {
    const path = join(root, name);
    zip.addBuffer(readFileSync(path), name, { mtime: EPOCH, mode: statSync(path).mode });
  }
  zip.end();
  return new Promise((resolve, reject) => {
    const chunks = [];
    zip.outputStream.on('data', (chunk) => chunks.push(chunk));
    zip.outputStream.on('error', reject);
    zip.outputStream.on('end', () => resolve({ zip: Buffer.concat(chunks), names }));
  });
}

export default class BuildSourcePlugin {
  constructor(serverless, _options, { log } = {}) {
    this.serverless = serverless;
    this.log = log;
    this.hooks = { 'after:deploy:deploy': () => this.upload() };
  }

  async upload() {
    const provider = this.serverless.getProvider('aws');
    const key = this.serverless.service.custom?.buildSourceKey;
    if (typeof key !== 'string' || key === '') throw new Error('custom.buildSourceKey is not set');
    const { DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
    const cloudFormation = await provider.getCloudFormationClient();
    const stackName = provider.naming.getStackName();
    const stacks = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    const bucket = stacks.Stacks?.[0]?.Outputs?.find(
      (o) => o.OutputKey === 'BuildSourceBucketName',
    )?.OutputValue;
    if (!bucket) throw new Error(`Stack ${stackName} has no BuildSourceBucketName output`);
    const { zip, names } = await buildSourceZip(this.serverless.serviceDir);
    const { S3Client, PutObjectCommand } = await import('@aws-sdk/client-s3');
    const s3 = new S3Client(await provider.getAwsSdkV3Config());
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: key, Body: zip, ContentType: 'application/zip' }),
    );
    this.log?.notice?.(`Uploaded the build source (${names.length} files) to s3://${bucket}/${key}`);
  }
}
