import { execFile } from 'node:child_process';
import { sandboxCredentials } from './sandbox/credentials';
import { startSandbox } from './sandbox/server';
process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
const sandbox = await startSandbox({ port: 0, log: () => undefined });
if (process.env.FAULTS) await fetch(`${sandbox.url}/_sandbox/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: process.env.FAULTS });
const args = process.argv.slice(2);
const t0 = Date.now();
await new Promise<void>((done) => {
  execFile(process.execPath, ['dist/cli/pulsar-ami.mjs', ...args], {
    env: { PATH: process.env.PATH, HOME: '/tmp/demo', AWS_ACCESS_KEY_ID: sandboxCredentials.accessKeyId, AWS_SECRET_ACCESS_KEY: sandboxCredentials.secretAccessKey, PULSAR_AMI_API_URL: sandbox.url, PULSAR_AMI_POLL_INTERVAL_MS: '50', AWS_EC2_METADATA_DISABLED: 'true' },
    maxBuffer: 64 * 1024 * 1024,
  }, (error, stdout, stderr) => { console.log(stdout); console.log('--- stderr'); console.log(stderr); console.log('exit', error?.code ?? 0, 'in', Date.now() - t0, 'ms'); done(); });
});
await sandbox.close();
