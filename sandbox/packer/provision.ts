/**
 * What the file and shell provisioners do on the build instance, as the scripts that do it there:
 * each runs in the instance's own jail (ssm/executor.ts runIsolated) over its root, with the
 * stand-in tools and the artifact store read-only at /sandbox/bin and /sandbox/artifacts and
 * /sandbox/bin first on PATH. Content travels inside the script (base64 in a heredoc), so the
 * sandbox never writes into the instance's root itself: the jail does, as the instance's root.
 *
 * As Packer over SSH (Session Manager) as `ec2-user`: an upload may only write where that user
 * can (/tmp, /var/tmp, its home), a destination's folder must exist, and a shell script is
 * uploaded to remote_folder/remote_file and run with execute_command ({{.Vars}}, {{.Path}}),
 * then removed unless skip_clean.
 */
import { posix } from 'node:path';
import { tarGz } from '../artifacts/archive-writers';
import type { ShellProvisioner } from './config';
import { HclError } from './hcl';
import type { TreeEntry } from './untrusted-fs';

/** Single-quoted for sh. */
export const shq = (value: string): string => `'${value.replaceAll("'", `'"'"'`)}'`;

const DELIMITER = 'PULSAR_AMI_PACKER_UPLOAD';

function base64Lines(data: Buffer): string {
  return (data.toString('base64').match(/.{1,76}/g) ?? []).join('\n');
}

/** Folders `ec2-user` may write in (the SSH user Packer connects as; scp runs as it). */
export function writableByUser(path: string, user: string): boolean {
  const home = user === 'root' ? '/root' : `/home/${user}`;
  return ['/tmp', '/var/tmp', home].some((dir) => path === dir || path.startsWith(`${dir}/`));
}

export interface Upload {
  /** What Packer prints: `files/systemd => /tmp`. */
  shown: string;
  script: string;
}

/**
 * One source of a file provisioner as the script that writes it on the instance. `entries` is
 * the source read from the build (a file, or a folder's tree with '' as the folder itself).
 */
export function uploadScript(
  source: string,
  entries: TreeEntry[],
  destination: string,
  user: string,
): Upload {
  const isDir = entries[0]?.type === 'dir' && entries[0].path === '';
  const shown = `${source} => ${destination}`;
  const dest = posix.normalize(destination.startsWith('/') ? destination : `/home/${user}/${destination}`);
  if (!isDir) {
    const file = entries[0];
    if (!file?.content) throw new HclError('Upload failed', `${source}: nothing to upload`);
    const target = destination.endsWith('/') ? posix.join(dest, posix.basename(source)) : dest;
    if (!writableByUser(target, user)) {
      return { shown, script: `echo ${shq(`scp: ${target}: Permission denied`)} >&2\nexit 1\n` };
    }
    const folder = posix.dirname(target);
    return {
      shown,
      script: [
        `if [ ! -d ${shq(folder)} ]; then echo ${shq(`scp: ${folder}: No such file or directory`)} >&2; exit 1; fi`,
        `base64 -d > ${shq(target)} <<'${DELIMITER}' || exit 1`,
        base64Lines(file.content),
        DELIMITER,
        `chmod ${(file.mode & 0o777).toString(8)} ${shq(target)}`,
        '',
      ].join('\n'),
    };
  }
  // A folder: without a trailing slash the folder itself goes into the destination, with one its contents.
  const into = source.endsWith('/') ? dest : posix.join(dest, posix.basename(source.replace(/\/+$/, '')));
  if (!writableByUser(into, user)) {
    return { shown, script: `echo ${shq(`scp: ${into}: Permission denied`)} >&2\nexit 1\n` };
  }
  const archive = tarGz(
    entries
      .filter((e) => e.path !== '')
      .map((e) =>
        e.type === 'dir'
          ? { path: `${e.path}/`, mode: e.mode }
          : { path: e.path, content: e.content, mode: e.mode },
      ),
  );
  const parent = source.endsWith('/') ? posix.dirname(dest) : dest;
  return {
    shown,
    script: [
      `if [ ! -d ${shq(parent)} ]; then echo ${shq(`scp: ${parent}: No such file or directory`)} >&2; exit 1; fi`,
      `mkdir -p ${shq(into)} || exit 1`,
      `base64 -d <<'${DELIMITER}' | tar -xzf - -C ${shq(into)} --no-same-owner || exit 1`,
      base64Lines(archive),
      DELIMITER,
      '',
    ].join('\n'),
  };
}

/** Packer's {{.Vars}}: every variable as env_var_format, sorted by name, PACKER_* included. */
export function flattenedVars(step: ShellProvisioner, buildName: string, builderType: string): string {
  const vars = new Map<string, string>([
    ['PACKER_BUILDER_TYPE', builderType],
    ['PACKER_BUILD_NAME', buildName],
  ]);
  for (const [key, value] of step.environment) vars.set(key, value);
  const format = step.envVarFormat;
  if ((format.match(/%s/g) ?? []).length !== 2) {
    throw new HclError('Invalid env_var_format', `env_var_format must have two %s, got "${format}"`);
  }
  return [...vars.keys()]
    .sort()
    .map((key) => {
      const value = (vars.get(key) ?? '').replaceAll("'", `'"'"'`);
      return format.replace('%s', key).replace('%s', value);
    })
    .join('');
}

/** Renders Packer's execute_command Go template ({{.Vars}}, {{.Path}}, {{.EnvVarFile}} refused). */
export function renderExecuteCommand(template: string, values: { Vars: string; Path: string }): string {
  return template.replace(/\{\{-?\s*([^}]*?)\s*-?\}\}/g, (whole, expr: string) => {
    if (expr === '.Vars') return values.Vars;
    if (expr === '.Path') return values.Path;
    throw new HclError(
      'Invalid execute_command',
      `${whole}: the sandbox's Packer knows {{.Vars}} and {{.Path}} in execute_command.`,
    );
  });
}

/** The script that uploads one shell script and runs it as Packer would; exits with its status. */
export function shellScript(step: ShellProvisioner, body: Buffer, remotePath: string, vars: string): string {
  const command = renderExecuteCommand(step.executeCommand, { Vars: vars, Path: remotePath });
  return [
    `mkdir -p ${shq(posix.dirname(remotePath))} 2>/dev/null`,
    `base64 -d > ${shq(remotePath)} <<'${DELIMITER}' || exit 1`,
    base64Lines(body),
    DELIMITER,
    `chmod 0755 ${shq(remotePath)}`,
    // The communicator runs the command through the user's shell, as ssh does.
    `/bin/bash -c ${shq(command)}`,
    'status=$?',
    ...(step.skipClean ? [] : [`rm -f ${shq(remotePath)}`]),
    'exit "$status"',
    '',
  ].join('\n');
}

/** Inline commands as Packer uploads them: the shebang, then each command on its own line. */
export function inlineBody(step: ShellProvisioner): Buffer {
  return Buffer.from(`#!${step.inlineShebang}\n${(step.inline ?? []).join('\n')}\n`);
}
