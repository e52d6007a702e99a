/**
 * What an AWS service looks like to the sandbox's router: query-protocol services (EC2, STS,
 * CloudFormation) take form parameters and answer XML; JSON services (SSM, and later Step
 * Functions and CodeBuild) take and answer JSON. Each renders its own errors.
 */
import type { AwsError } from './errors/aws-error';
import type { QueryParams } from './query';
import type { World } from './world';

/** Facts about the running sandbox that some answers include. */
export interface SandboxInfo {
  /** e.g. `http://127.0.0.1:4566` */
  url: string;
  /** The stage whose API the sandbox serves (`dev`). */
  stage: string;
  /** The region the API lives in (`us-west-2`). */
  apiRegion: string;
  /** serverless.yml `service` (`pulsar-ami`). */
  serviceName: string;
  /**
   * What serverless.yml's `${env:NAME, default}` variables read, as a deployment would: the
   * `PULSAR_AMI_…` settings. Absent (the tests' default): every setting its default.
   */
  deployEnv?: Readonly<Record<string, string | undefined>>;
}

export interface AwsCallContext {
  world: World;
  /** From the SigV4 credential scope. */
  regionName: string;
  requestId: string;
  sandbox: SandboxInfo;
}

export interface ServiceResponse {
  status: number;
  contentType: string;
  body: string;
  headers?: Record<string, string>;
}

export interface QueryService {
  /** The SigV4 signing name, e.g. `ec2`. */
  readonly signingName: string;
  handle(params: QueryParams, ctx: AwsCallContext): Promise<ServiceResponse>;
  renderError(error: AwsError, requestId: string): ServiceResponse;
}

export type JsonInput = Record<string, unknown>;

export type JsonOperation = (input: JsonInput, ctx: AwsCallContext) => unknown | Promise<unknown>;

export interface JsonService {
  /** Name for the calls log and fault targeting, e.g. `ssm`. */
  readonly name: string;
  /** `application/x-amz-json-1.1` for SSM and CodeBuild, `1.0` for Step Functions. */
  readonly contentType: string;
  readonly operations: Readonly<Record<string, JsonOperation>>;
}
