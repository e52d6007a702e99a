/**
 * A template evaluated for one `packer validate` or `packer build`: the scope its expressions see
 * (var, local, data, packer, path, source, build), data sources executed against the sandbox's
 * world (SSM parameters, EC2 images), and the blocks the stand-in runs read into typed
 * configurations: the amazon-ebs source, the file and shell provisioners and the manifest
 * post-processor. Arguments are checked as Packer checks them: an unknown one is an error, as is
 * one whose effect the sandbox does not model; the few that change nothing here (timeouts,
 * polling, the SSH port) are accepted and listed in NO_EFFECT.
 */
import { getParameter } from '../ssm/models/parameters';
import type { RegionState } from '../world';
import {
  asString,
  evaluate,
  HclError,
  isUnknown,
  type Scope,
  UNKNOWN,
  type Unknown,
  type Value,
} from './hcl';
import type { Block, NestedBlock, Template } from './template';

type Body = Record<string, unknown>;

export interface SessionOptions {
  template: Template;
  variables: Map<string, Value | undefined>;
  /** `validate` runs no data source (their values are unknown), `build` does. */
  mode: 'validate' | 'build';
  packerVersion: string;
  /** `path.root` (the template's folder) and `path.cwd`, as the build's jail sees them. */
  templateDir: string;
  cwd: string;
  now: Date;
  /** The region a data source without `region` uses (the build's AWS_REGION). */
  defaultRegion: string | undefined;
  /** The sandbox's regions (data sources read them). */
  region: (name: string) => RegionState;
  accountId: string;
}

/** What a provisioner or post-processor sees of its build (`build.*`, `source.*`). */
export interface BuildContext {
  source: { name: string; type: string };
  /** `build.*`; unknown outside a running build. */
  build: Record<string, Value> | Unknown;
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

export class Session {
  private readonly locals = new Map<string, Promise<Value>>();
  private readonly evaluatingLocals = new Set<string>();
  private readonly data = new Map<string, Promise<Value>>();

  constructor(readonly options: SessionOptions) {}

  scope(context?: BuildContext): Scope {
    const { options } = this;
    return {
      variable: (name) => {
        if (!options.template.variables.has(name)) {
          throw new HclError(
            'Reference to undeclared input variable',
            `An input variable with the name "${name}" has not been declared.`,
          );
        }
        const value = options.variables.get(name);
        return value === undefined ? UNKNOWN : value;
      },
      local: (name) => this.local(name),
      data: (type, name) => this.dataSource(type, name),
      root: (name) => {
        if (name === 'packer') return { version: options.packerVersion };
        if (name === 'path') return { root: options.templateDir, cwd: options.cwd };
        if (name === 'source' && context) return { ...context.source };
        if (name === 'build' && context) return context.build;
        return undefined;
      },
      now: options.now,
    };
  }

  private local(name: string): Promise<Value> {
    const known = this.locals.get(name);
    if (known) return known;
    const entry = this.options.template.locals.get(name);
    if (!entry) {
      return Promise.reject(
        new HclError(
          'Reference to undeclared local value',
          `A local value with the name "${name}" has not been declared.`,
        ),
      );
    }
    if (this.evaluatingLocals.has(name)) {
      return Promise.reject(new HclError('Cycle in local values', `local.${name} refers to itself.`));
    }
    this.evaluatingLocals.add(name);
    const value = evaluate(entry.raw, this.scope()).finally(() => this.evaluatingLocals.delete(name));
    this.locals.set(name, value);
    return value;
  }

  private dataSource(type: string, name: string): Promise<Value> {
    const key = `${type}.${name}`;
    const known = this.data.get(key);
    if (known) return known;
    const block = this.options.template.data.get(key);
    if (!block) {
      return Promise.reject(
        new HclError(
          'Reference to undeclared data source',
          `A data source "${type}" "${name}" has not been declared.`,
        ),
      );
    }
    const value = this.runDataSource(block);
    this.data.set(key, value);
    return value;
  }

  /** Every data source's configuration checked (and, in a build, executed). */
  async checkDataSources(): Promise<void> {
    for (const block of this.options.template.data.values()) await this.dataSource(block.type, block.name);
  }

  private async runDataSource(block: Block): Promise<Value> {
    const config = await evaluateBody(block.body, this.scope());
    const where = `data "${block.type}" "${block.name}"`;
    if (block.type === 'amazon-parameterstore') {
      allowOnly(config, ['name', 'region', 'with_decryption'], where);
      const name = config.name;
      if (this.options.mode === 'validate' || isUnknown(name)) return UNKNOWN;
      if (typeof name !== 'string' || name === '')
        throw new HclError('Invalid data source', `${where}: name must be set.`);
      const region = this.regionOf(config.region, where);
      if (isUnknown(region)) return UNKNOWN;
      try {
        const parameter = getParameter(this.options.region(region).parameters, name);
        return {
          value: parameter.value,
          version: parameter.version,
          arn: `arn:aws:ssm:${region}:${name.startsWith('/aws/') ? 'aws' : this.options.accountId}:parameter${name.startsWith('/') ? '' : '/'}${name}`,
        };
      } catch (error) {
        throw new HclError(
          'Datasource.Execute failed',
          `${where}: ${(error as { code?: string }).code ?? 'Error'}: ${(error as Error).message}`,
        );
      }
    }
    if (block.type === 'amazon-ami') {
      allowOnly(config, ['filters', 'owners', 'most_recent', 'region', 'include_deprecated'], where);
      if (this.options.mode === 'validate') return UNKNOWN;
      const region = this.regionOf(config.region, where);
      if (isUnknown(region)) return UNKNOWN;
      const image = findImage(this.options.region(region), this.options.accountId, config, where);
      return {
        id: image.imageId,
        name: image.name,
        creation_date: image.creationDate,
        owner: image.ownerId,
        owner_name: image.ownerAlias ?? '',
        tags: { ...image.tags },
      };
    }
    throw new HclError(
      'Unsupported data source',
      `${where}: the sandbox's Packer reads amazon-parameterstore and amazon-ami data sources.`,
    );
  }

  private regionOf(value: Value | undefined, where: string): string | Unknown {
    if (isUnknown(value)) return UNKNOWN;
    const region = typeof value === 'string' && value !== '' ? value : this.options.defaultRegion;
    if (!region || !REGION.test(region)) {
      throw new HclError(
        'Invalid data source',
        `${where}: no region (set region, or AWS_REGION), got '${region ?? ''}'.`,
      );
    }
    return region;
  }
}

/** Every attribute of a block body evaluated; nested blocks (lists of objects) too. */
export async function evaluateBody(body: Body, scope: Scope): Promise<Record<string, Value>> {
  const out: Record<string, Value> = {};
  for (const [key, raw] of Object.entries(body)) out[key] = await evaluate(raw, scope);
  return out;
}

function allowOnly(config: Record<string, Value>, allowed: string[], where: string): void {
  for (const key of Object.keys(config)) {
    if (!allowed.includes(key)) {
      throw new HclError(
        'Unsupported argument',
        `${where}: An argument named "${key}" is not expected here (the sandbox's Packer knows ${allowed.join(', ')}).`,
      );
    }
  }
}

function findImage(region: RegionState, accountId: string, config: Record<string, Value>, where: string) {
  const owners = Array.isArray(config.owners) ? config.owners.map((o) => asString(o)) : [];
  const filters = (
    config.filters && typeof config.filters === 'object' && !Array.isArray(config.filters)
      ? config.filters
      : {}
  ) as Record<string, Value>;
  const matches = [...region.images.values()].filter((image) => {
    if (image.state !== 'available') return false;
    if (owners.length > 0) {
      const owned = owners.some((o) =>
        o === 'self' ? image.ownerId === accountId : o === image.ownerId || o === image.ownerAlias,
      );
      if (!owned) return false;
    }
    return Object.entries(filters).every(([key, raw]) => {
      const wanted = asString(raw);
      const pattern = new RegExp(
        `^${wanted
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '.*')
          .replace(/\?/g, '.')}$`,
      );
      const field =
        key === 'name'
          ? image.name
          : key === 'architecture'
            ? image.architecture
            : key === 'state'
              ? image.state
              : key === 'root-device-type'
                ? 'ebs'
                : key === 'virtualization-type'
                  ? image.virtualizationType
                  : key.startsWith('tag:')
                    ? image.tags[key.slice(4)]
                    : undefined;
      if (field === undefined && !key.startsWith('tag:')) {
        throw new HclError(
          'Unsupported filter',
          `${where}: the sandbox's Packer filters images by name, architecture, state, root-device-type, virtualization-type and tag:K, not "${key}".`,
        );
      }
      return field !== undefined && pattern.test(field);
    });
  });
  if (matches.length === 0)
    throw new HclError('Datasource.Execute failed', `${where}: No AMI was found matching filters`);
  if (matches.length > 1 && config.most_recent !== true) {
    throw new HclError(
      'Datasource.Execute failed',
      `${where}: Your query returned more than one result. Please try a more specific search, or set most_recent to true.`,
    );
  }
  return [...matches].sort((a, b) =>
    a.creationDate < b.creationDate ? 1 : -1,
  )[0] as (typeof matches)[number];
}

// ---------------------------------------------------------------------------------------------
// amazon-ebs

export interface BlockDeviceMapping {
  deviceName: string;
  volumeType: string;
  volumeSize: number | undefined;
  encrypted: boolean;
  deleteOnTermination: boolean;
}

export interface EbsConfig {
  name: string;
  amiName: string;
  amiDescription: string | undefined;
  instanceType: string;
  region: string;
  sourceAmi: string | undefined;
  sourceAmiFilter: Record<string, Value> | undefined;
  sshUsername: string;
  sessionManager: boolean;
  iamInstanceProfile: string | undefined;
  temporaryProfile: boolean;
  subnetId: string | undefined;
  securityGroupIds: string[];
  shutdownBehavior: 'stop' | 'terminate';
  userData: string | undefined;
  runTags: Record<string, string>;
  runVolumeTags: Record<string, string>;
  tags: Record<string, string>;
  snapshotTags: Record<string, string>;
  launchDevices: BlockDeviceMapping[];
  metadataOptions: { httpTokens: string; httpEndpoint: string } | undefined;
  forceDeregister: boolean;
  forceDeleteSnapshot: boolean;
  encryptBoot: boolean;
  /** How long (AWS seconds) to wait for the communicator (ssh_timeout, default 5m). */
  sshTimeoutSeconds: number;
}

/** amazon-ebs arguments that change nothing in the sandbox (accepted as Packer accepts them). */
export const NO_EFFECT = new Set([
  'ssh_port',
  'ssh_pty',
  'ssh_handshake_attempts',
  'ssh_clear_authorized_keys',
  'ssh_keep_alive_interval',
  'ssh_read_write_timeout',
  'ssh_agent_auth',
  'ssh_keypair_name',
  'temporary_key_pair_type',
  'temporary_key_pair_name',
  'temporary_key_pair_bits',
  'pause_before_ssm',
  'session_manager_port',
  'pause_before_connecting',
  'aws_polling',
  'skip_region_validation',
  'skip_credential_validation',
  'skip_metadata_api_check',
  'skip_save_build_region',
  'decode_authorization_messages',
  'max_retries',
  'associate_public_ip_address',
  'ena_support',
  'sriov_support',
  'ami_virtualization_type',
  'imds_support',
  'disable_stop_instance',
  'deprecate_at',
  'ebs_optimized',
  'enable_unlimited_credits',
  'availability_zone',
  'ssh_private_ip',
  'temporary_security_group_source_cidrs',
  'temporary_security_group_source_public_ip',
  'communicator',
  'ssh_username',
  'ssh_interface',
]);

/** Arguments whose effect the sandbox does not model: refused, never ignored. */
const NOT_MODELLED = new Set([
  'ami_regions',
  'ami_users',
  'ami_groups',
  'ami_org_arns',
  'ami_ou_arns',
  'snapshot_users',
  'snapshot_groups',
  'spot_price',
  'spot_instance_types',
  'spot_tags',
  'kms_key_id',
  'region_kms_key_ids',
  'user_data_file',
  'vpc_filter',
  'subnet_filter',
  'security_group_filter',
  'ami_block_device_mappings',
  'placement',
  'tenancy',
  'fleet_tags',
  'assume_role',
  'access_key',
  'secret_key',
  'token',
  'profile',
  'custom_endpoint_ec2',
  'run_volume_tag',
  'run_tag',
  'tag',
  'snapshot_tag',
  'fast_launch',
  'ssh_bastion_host',
  'winrm_username',
]);

const MODELLED = new Set([
  'ami_name',
  'ami_description',
  'instance_type',
  'region',
  'source_ami',
  'source_ami_filter',
  'iam_instance_profile',
  'temporary_iam_instance_profile_policy_document',
  'subnet_id',
  'security_group_id',
  'security_group_ids',
  'shutdown_behavior',
  'user_data',
  'run_tags',
  'run_volume_tags',
  'tags',
  'snapshot_tags',
  'launch_block_device_mappings',
  'metadata_options',
  'force_deregister',
  'force_delete_snapshot',
  'encrypt_boot',
  'ssh_timeout',
]);

const AMI_NAME = /^[A-Za-z0-9()[\] ./\-'@_]{3,128}$/;

function stringMap(value: Value | undefined, what: string, errors: string[]): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value) || isUnknown(value)) {
    errors.push(`${what} must be a map of strings`);
    return {};
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (isUnknown(v)) continue;
    out[k] = asString(v, `${what}.${k}`);
  }
  return out;
}

const text = (value: Value | undefined): string | undefined =>
  typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : undefined;

const firstBlock = (value: Value | undefined): Record<string, Value> | undefined => {
  const first = Array.isArray(value) ? value[0] : value;
  return first && typeof first === 'object' && !Array.isArray(first) && !isUnknown(first)
    ? (first as Record<string, Value>)
    : undefined;
};

/**
 * The amazon-ebs source as the stand-in runs it. In `validate` mode values may be unknown and
 * only what is known is checked; Packer's own messages, one per problem.
 */
export function ebsConfig(
  block: Block,
  config: Record<string, Value>,
  mode: 'validate' | 'build',
): EbsConfig {
  const errors: string[] = [];
  for (const key of Object.keys(config)) {
    if (NOT_MODELLED.has(key)) {
      errors.push(
        `${key}: the sandbox's Packer does not model this argument; remove it to build in the sandbox`,
      );
    } else if (!MODELLED.has(key) && !NO_EFFECT.has(key)) {
      errors.push(`An argument named "${key}" is not expected here.`);
    }
  }
  const known = (key: string) => config[key] !== undefined && !isUnknown(config[key]);
  const amiName = text(config.ami_name);
  if (known('ami_name') || mode === 'build') {
    if (!amiName) errors.push('ami_name must be specified');
    else if (!AMI_NAME.test(amiName)) {
      errors.push(
        amiName.length < 3 || amiName.length > 128
          ? 'ami_name must be between 3 and 128 characters long'
          : "AMIName should only contain alphanumeric characters, parentheses (()), square brackets ([]), spaces ( ), periods (.), slashes (/), dashes (-), single quotes ('), at-signs (@), or underscores(_). You can use the `clean_resource_name` template filter to automatically clean your ami name.",
      );
    }
  }
  if ((known('instance_type') || mode === 'build') && !text(config.instance_type)) {
    errors.push('An instance_type must be specified');
  }
  const region = text(config.region);
  if ((known('region') || mode === 'build') && (!region || !REGION.test(region))) {
    errors.push(`region must be an AWS region such as us-west-2, got '${region ?? ''}'`);
  }
  if (config.source_ami === undefined && config.source_ami_filter === undefined) {
    errors.push('A source_ami or source_ami_filter must be specified');
  }
  const communicator = text(config.communicator) ?? 'ssh';
  if (communicator !== 'ssh')
    errors.push(
      `communicator "${communicator}": the sandbox's Packer connects with ssh over Session Manager only`,
    );
  const sshInterface = text(config.ssh_interface);
  if (sshInterface !== undefined && sshInterface !== 'session_manager') {
    errors.push(
      `ssh_interface "${sshInterface}": the sandbox has no network path to an instance; use session_manager`,
    );
  }
  const profile = text(config.iam_instance_profile);
  const temporaryProfile = !profile && config.temporary_iam_instance_profile_policy_document !== undefined;
  if (sshInterface === 'session_manager' && known('iam_instance_profile') && !profile && !temporaryProfile) {
    errors.push(
      'ssh_interface: "session_manager" requires an instance profile (iam_instance_profile or temporary_iam_instance_profile_policy_document)',
    );
  }
  const behaviour = text(config.shutdown_behavior) ?? 'stop';
  if (known('shutdown_behavior') && behaviour !== 'stop' && behaviour !== 'terminate') {
    errors.push("shutdown_behavior only accepts 'stop' or 'terminate' values.");
  }
  const groups = config.security_group_ids;
  const securityGroupIds = [
    ...(Array.isArray(groups) ? groups.filter((g) => !isUnknown(g)).map((g) => asString(g)) : []),
    ...(text(config.security_group_id) ? [text(config.security_group_id) as string] : []),
  ];
  for (const group of securityGroupIds) {
    if (!/^sg-[0-9a-f]{8,17}$/.test(group))
      errors.push(`security group "${group}" is not a security group id`);
  }
  const launchDevices: BlockDeviceMapping[] = [];
  const mappings = config.launch_block_device_mappings;
  for (const mapping of Array.isArray(mappings) ? mappings : []) {
    if (!mapping || typeof mapping !== 'object' || Array.isArray(mapping) || isUnknown(mapping)) continue;
    const m = mapping as Record<string, Value>;
    for (const key of Object.keys(m)) {
      if (
        ![
          'device_name',
          'volume_type',
          'volume_size',
          'encrypted',
          'delete_on_termination',
          'iops',
          'throughput',
        ].includes(key)
      ) {
        errors.push(`launch_block_device_mappings: An argument named "${key}" is not expected here.`);
      }
    }
    const deviceName = text(m.device_name);
    if (!deviceName && !isUnknown(m.device_name))
      errors.push('launch_block_device_mappings: device_name must be specified');
    const volumeType = text(m.volume_type) ?? 'gp2';
    if (!['gp2', 'gp3', 'io1', 'io2', 'st1', 'sc1', 'standard'].includes(volumeType)) {
      errors.push(`launch_block_device_mappings: volume_type "${volumeType}" is not an EBS volume type`);
    }
    const size = m.volume_size;
    if (size !== undefined && !isUnknown(size) && (typeof size !== 'number' || size < 1 || size > 16384)) {
      errors.push('launch_block_device_mappings: volume_size must be 1-16384 GiB');
    }
    launchDevices.push({
      deviceName: deviceName ?? '/dev/xvda',
      volumeType,
      volumeSize: typeof size === 'number' ? size : undefined,
      encrypted: m.encrypted === true,
      deleteOnTermination: m.delete_on_termination !== false,
    });
  }
  const metadata = firstBlock(config.metadata_options);
  const userData = text(config.user_data);
  const result: EbsConfig = {
    name: block.name,
    amiName: amiName ?? '',
    amiDescription: text(config.ami_description),
    instanceType: text(config.instance_type) ?? '',
    region: region ?? '',
    sourceAmi: text(config.source_ami),
    sourceAmiFilter: firstBlock(config.source_ami_filter),
    sshUsername: text(config.ssh_username) ?? 'ec2-user',
    sessionManager: sshInterface === 'session_manager',
    iamInstanceProfile: profile,
    temporaryProfile,
    subnetId: text(config.subnet_id),
    securityGroupIds,
    shutdownBehavior: behaviour === 'terminate' ? 'terminate' : 'stop',
    userData: userData === undefined ? undefined : Buffer.from(userData).toString('base64'),
    runTags: stringMap(config.run_tags, 'run_tags', errors),
    runVolumeTags: stringMap(config.run_volume_tags, 'run_volume_tags', errors),
    tags: stringMap(config.tags, 'tags', errors),
    snapshotTags: stringMap(config.snapshot_tags, 'snapshot_tags', errors),
    launchDevices,
    metadataOptions: metadata
      ? {
          httpTokens: text(metadata.http_tokens) ?? 'optional',
          httpEndpoint: text(metadata.http_endpoint) ?? 'enabled',
        }
      : undefined,
    forceDeregister: config.force_deregister === true,
    forceDeleteSnapshot: config.force_delete_snapshot === true,
    encryptBoot: config.encrypt_boot === true,
    sshTimeoutSeconds: isUnknown(config.ssh_timeout)
      ? 300
      : durationSeconds(config.ssh_timeout, 'ssh_timeout') || 300,
  };
  if (errors.length > 0) {
    throw new HclError(
      `${errors.length} error(s) occurred`,
      `${errors.map((e) => `* ${e}`).join('\n')}\n\n  on ${block.file}, source "${block.type}" "${block.name}"`,
    );
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Provisioners and post-processors

export interface CommonStep {
  only: string[] | undefined;
  except: string[] | undefined;
  pauseBefore: number;
  timeout: number | undefined;
}

export interface FileProvisioner extends CommonStep {
  type: 'file';
  sources: string[];
  content: string | undefined;
  destination: string;
  generated: boolean;
}

export interface ShellProvisioner extends CommonStep {
  type: 'shell';
  inline: string[] | undefined;
  scripts: string[];
  environment: [string, string][];
  executeCommand: string;
  inlineShebang: string;
  remoteFolder: string;
  remoteFile: string | undefined;
  remotePath: string | undefined;
  skipClean: boolean;
  validExitCodes: number[];
  envVarFormat: string;
  pauseAfter: number;
}

export type Provisioner = FileProvisioner | ShellProvisioner;

export interface ManifestPostProcessor {
  type: 'manifest';
  only: string[] | undefined;
  except: string[] | undefined;
  output: string;
  stripPath: boolean;
  stripTime: boolean;
  customData: Record<string, string>;
}

/** A Go duration (`10s`, `1m30s`, `500ms`) in seconds. */
export function durationSeconds(value: Value | undefined, what: string): number {
  if (value === undefined || value === null || value === '' || value === 0) return 0;
  if (typeof value === 'number') return value;
  const textValue = asString(value, what);
  const parts = [...textValue.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== textValue) {
    throw new HclError('Invalid duration', `${what}: "${textValue}" is not a duration such as 30s or 5m.`);
  }
  const unit = { ms: 0.001, s: 1, m: 60, h: 3600 } as const;
  return parts.reduce((sum, p) => sum + Number(p[1]) * unit[p[2] as keyof typeof unit], 0);
}

function stringList(value: Value | undefined, what: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new HclError('Invalid argument', `${what} must be a list of strings.`);
  return value.map((v) => asString(v, what));
}

function common(config: Record<string, Value>, where: string): CommonStep {
  const retries = config.max_retries;
  if (retries !== undefined && retries !== 0 && retries !== '0') {
    throw new HclError(
      'Unsupported argument',
      `${where}: max_retries is not supported by the sandbox's Packer.`,
    );
  }
  return {
    only: stringList(config.only, `${where}: only`),
    except: stringList(config.except, `${where}: except`),
    pauseBefore: durationSeconds(config.pause_before, `${where}: pause_before`),
    timeout:
      config.timeout === undefined
        ? undefined
        : durationSeconds(config.timeout, `${where}: timeout`) || undefined,
  };
}

const COMMON = ['only', 'except', 'pause_before', 'max_retries', 'timeout', 'override'];

export const DEFAULT_EXECUTE_COMMAND = 'chmod +x {{.Path}}; {{.Vars}} {{.Path}}';

export function provisionerConfig(
  nested: NestedBlock,
  config: Record<string, Value>,
  index: number,
): Provisioner {
  const where = `provisioner "${nested.type}" (#${index + 1})`;
  if ('override' in config)
    throw new HclError(
      'Unsupported argument',
      `${where}: override is not supported by the sandbox's Packer.`,
    );
  if (nested.type === 'file') {
    allowOnly(
      config,
      [...COMMON, 'source', 'sources', 'content', 'destination', 'direction', 'generated'],
      where,
    );
    const direction = text(config.direction) ?? 'upload';
    if (direction !== 'upload') {
      throw new HclError(
        'Unsupported argument',
        `${where}: direction "${direction}": the sandbox's Packer uploads only.`,
      );
    }
    const sources = [
      ...(text(config.source) ? [text(config.source) as string] : []),
      ...(stringList(config.sources, `${where}: sources`) ?? []),
    ];
    const content = typeof config.content === 'string' ? config.content : undefined;
    const destination = text(config.destination);
    const problems: string[] = [];
    if (sources.length === 0 && content === undefined) problems.push('Source must be specified.');
    if (sources.length > 0 && content !== undefined) problems.push('Cannot specify source file AND content');
    if (!destination) problems.push('Destination must be specified.');
    if (problems.length > 0)
      throw new HclError(
        `${where}: ${problems.length} error(s) occurred`,
        problems.map((p) => `* ${p}`).join('\n'),
      );
    return {
      type: 'file',
      ...common(config, where),
      sources,
      content,
      destination: destination as string,
      generated: config.generated === true,
    };
  }
  if (nested.type === 'shell') {
    allowOnly(
      config,
      [
        ...COMMON,
        'inline',
        'script',
        'scripts',
        'environment_vars',
        'env',
        'execute_command',
        'inline_shebang',
        'remote_folder',
        'remote_file',
        'remote_path',
        'skip_clean',
        'expect_disconnect',
        'valid_exit_codes',
        'binary',
        'start_retry_timeout',
        'pause_after',
        'use_env_var_file',
        'env_var_format',
      ],
      where,
    );
    if (config.use_env_var_file === true) {
      throw new HclError(
        'Unsupported argument',
        `${where}: use_env_var_file is not supported by the sandbox's Packer.`,
      );
    }
    const inline = stringList(config.inline, `${where}: inline`);
    const scripts = [
      ...(text(config.script) ? [text(config.script) as string] : []),
      ...(stringList(config.scripts, `${where}: scripts`) ?? []),
    ];
    const given = [inline !== undefined, config.script !== undefined, config.scripts !== undefined].filter(
      Boolean,
    ).length;
    if (given === 0)
      throw new HclError(
        `${where}: 1 error(s) occurred`,
        '* Either a script file or inline script must be specified.',
      );
    if (given > 1)
      throw new HclError(
        `${where}: 1 error(s) occurred`,
        '* Only one of script, scripts, or inline can be set.',
      );
    const environment: [string, string][] = [];
    for (const entry of stringList(config.environment_vars, `${where}: environment_vars`) ?? []) {
      const at = entry.indexOf('=');
      if (at <= 0) {
        throw new HclError(
          `${where}: 1 error(s) occurred`,
          `* Environment variable not in format 'key=value': ${entry}`,
        );
      }
      environment.push([entry.slice(0, at), entry.slice(at + 1)]);
    }
    const env = config.env;
    if (env && typeof env === 'object' && !Array.isArray(env) && !isUnknown(env)) {
      for (const [k, v] of Object.entries(env)) environment.push([k, asString(v, `${where}: env.${k}`)]);
    }
    const codes = config.valid_exit_codes;
    return {
      type: 'shell',
      ...common(config, where),
      inline,
      scripts,
      environment,
      executeCommand: text(config.execute_command) ?? DEFAULT_EXECUTE_COMMAND,
      inlineShebang: text(config.inline_shebang) ?? '/bin/sh -e',
      remoteFolder: text(config.remote_folder) ?? '/tmp',
      remoteFile: text(config.remote_file),
      remotePath: text(config.remote_path),
      skipClean: config.skip_clean === true,
      validExitCodes: Array.isArray(codes) ? codes.map((c) => Number(c)) : [0],
      envVarFormat: text(config.env_var_format) ?? "%s='%s' ",
      pauseAfter: durationSeconds(config.pause_after, `${where}: pause_after`),
    };
  }
  throw new HclError(
    'Unknown provisioner type',
    `${where}: the sandbox's Packer runs "file" and "shell" provisioners, not "${nested.type}".`,
  );
}

export function postProcessorConfig(
  nested: NestedBlock,
  config: Record<string, Value>,
): ManifestPostProcessor {
  const where = `post-processor "${nested.type}"`;
  if (nested.type !== 'manifest') {
    throw new HclError(
      'Unknown post-processor type',
      `${where}: the sandbox's Packer runs the "manifest" post-processor only.`,
    );
  }
  allowOnly(
    config,
    ['only', 'except', 'output', 'strip_path', 'strip_time', 'custom_data', 'keep_input_artifact', 'name'],
    where,
  );
  return {
    type: 'manifest',
    only: stringList(config.only, `${where}: only`),
    except: stringList(config.except, `${where}: except`),
    output: text(config.output) ?? 'packer-manifest.json',
    stripPath: config.strip_path === true,
    stripTime: config.strip_time === true,
    customData: stringMap(config.custom_data, `${where}: custom_data`, []),
  };
}

/** Whether a step with only/except applies to the build named `name` (`amazon-ebs.pulsar`). */
export function appliesTo(
  step: { only: string[] | undefined; except: string[] | undefined },
  names: string[],
): boolean {
  if (step.only && !step.only.some((n) => names.includes(n))) return false;
  if (step.except?.some((n) => names.includes(n))) return false;
  return true;
}
