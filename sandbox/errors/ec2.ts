/** EC2's error codes, each with its message as EC2 words it. */
import { AwsError, fixedError } from './aws-error';

/** `[ami-1, ami-2]`: EC2 brackets id lists in its messages, even a list of one. */
const bracketed = (ids: readonly string[]) => `[${ids.join(', ')}]`;

/** `Invalid id: "ami-xyz" (expecting "ami-...")`, EC2's wording for malformed ids. */
const invalidId = (id: string, prefix: string) => `Invalid id: "${id}" (expecting "${prefix}-...")`;

/** The class of a `….Malformed` error for ids with this prefix. */
function malformedId(code: string, prefix: string) {
  return class extends AwsError {
    constructor(id: string) {
      super(code, invalidId(id, prefix));
    }
  };
}

/** DryRun=true on a request that would have succeeded: HTTP 412. */
export const DryRunOperation = fixedError(
  'DryRunOperation',
  'Request would have succeeded, but DryRun flag is set.',
  412,
);

export class MissingParameter extends AwsError {
  constructor(parameter: string) {
    super('MissingParameter', `The request must contain the parameter ${parameter}`);
  }
}

export class InvalidParameterValue extends AwsError {
  constructor(message: string) {
    super('InvalidParameterValue', message);
  }

  /** `Value (x) for parameter name is invalid.`, with EC2's explanation after it when there is one. */
  static forParameter(parameter: string, value: string | undefined, detail?: string): InvalidParameterValue {
    return new InvalidParameterValue(
      `Value (${value}) for parameter ${parameter} is invalid.${detail === undefined ? '' : ` ${detail}`}`,
    );
  }

  static maxResults(maxResults: number, min: number, max: number): InvalidParameterValue {
    return new InvalidParameterValue(
      `Value ( ${maxResults} ) for parameter maxResults is invalid. Expecting a value between ${min} and ${max}.`,
    );
  }

  static nextToken(token: string): InvalidParameterValue {
    return new InvalidParameterValue(`Invalid value '${token}' for nextToken`);
  }

  static filter(name: string): InvalidParameterValue {
    return new InvalidParameterValue(`The filter '${name}' is invalid`);
  }
}

export class InvalidParameterCombination extends AwsError {
  constructor(message: string) {
    super('InvalidParameterCombination', message);
  }

  /** An explicit id list with MaxResults: `idsSet` is the list's name in EC2's message. */
  static idsWithMaxResults(idsSet: string): InvalidParameterCombination {
    return new InvalidParameterCombination(
      `The parameter ${idsSet} cannot be used with the parameter maxResults`,
    );
  }
}

export const InvalidAmiIdMalformed = malformedId('InvalidAMIID.Malformed', 'ami');

export class InvalidAmiIdNotFound extends AwsError {
  /** A list is bracketed (`'[ami-1]'`), as the image calls say it; CreateTags/DeleteTags name one id bare. */
  constructor(ids: readonly string[] | string) {
    super(
      'InvalidAMIID.NotFound',
      `The image id '${typeof ids === 'string' ? ids : bracketed(ids)}' does not exist`,
    );
  }
}

export class InvalidAmiIdUnavailable extends AwsError {
  constructor(imageId: string, state: string) {
    super('InvalidAMIID.Unavailable', `The image ${imageId} is ${state}, and cannot be run.`);
  }
}

export class InvalidUserIdMalformed extends AwsError {
  constructor(owner: string) {
    super('InvalidUserID.Malformed', `Invalid user id: "${owner}"`);
  }
}

export class AuthFailure extends AwsError {
  /** `resource` as EC2 names it: `image:ami-…`, `snapshot:snap-…`. */
  constructor(resource: string) {
    super('AuthFailure', `Not authorized for ${resource}`);
  }
}

export class OperationNotPermitted extends AwsError {
  constructor(message: string) {
    super('OperationNotPermitted', message);
  }

  static deregistrationProtection(imageId: string): OperationNotPermitted {
    return new OperationNotPermitted(
      `Deregistration protection is enabled for image ${imageId}. Disable it before deregistering the image.`,
    );
  }
}

export const InvalidSnapshotIdMalformed = malformedId('InvalidSnapshotID.Malformed', 'snap');

export class InvalidSnapshotNotFound extends AwsError {
  /** A list, as the snapshot calls say it (ends with a period); CreateTags/DeleteTags name one id (no period). */
  constructor(ids: readonly string[] | string) {
    super(
      'InvalidSnapshot.NotFound',
      typeof ids === 'string'
        ? `The snapshot '${ids}' does not exist`
        : `The snapshot '${ids.join(', ')}' does not exist.`,
    );
  }
}

export class InvalidSnapshotInUse extends AwsError {
  constructor(snapshotId: string, imageIds: readonly string[]) {
    super(
      'InvalidSnapshot.InUse',
      `The snapshot ${snapshotId} is currently in use by ${imageIds.join(', ')}`,
    );
  }
}

export const InvalidInstanceIdMalformed = malformedId('InvalidInstanceID.Malformed', 'i');

export class InvalidInstanceIdNotFound extends AwsError {
  constructor(ids: readonly string[]) {
    super(
      'InvalidInstanceID.NotFound',
      ids.length === 1
        ? `The instance ID '${ids[0]}' does not exist`
        : `The instance IDs '${ids.join(', ')}' do not exist`,
    );
  }
}

export class InvalidVpcIdNotFound extends AwsError {
  constructor(ids: readonly string[]) {
    super('InvalidVpcID.NotFound', `The vpc ID '${ids.join(', ')}' does not exist`);
  }
}

export class InvalidSubnetIdNotFound extends AwsError {
  constructor(ids: readonly string[]) {
    super('InvalidSubnetID.NotFound', `The subnet ID '${ids.join(', ')}' does not exist`);
  }
}

/** A resource id that is malformed or of a kind CreateTags/DeleteTags do not know. */
export class InvalidId extends AwsError {
  constructor(message: string) {
    super('InvalidID', message);
  }

  static malformed(id: string): InvalidId {
    return new InvalidId(invalidId(id, 'resource'));
  }

  static unknownKind(id: string): InvalidId {
    return new InvalidId(`The ID '${id}' is not valid`);
  }
}

export const TagLimitExceeded = fixedError(
  'TagLimitExceeded',
  'The maximum number of Tags for a resource has been reached.',
);

export class InvalidInstanceType extends AwsError {
  constructor(types: readonly string[]) {
    super('InvalidInstanceType', `The following supplied instance types do not exist: ${bracketed(types)}`);
  }
}

export class InstanceLimitExceeded extends AwsError {
  constructor(requested: number, limit: number) {
    super(
      'InstanceLimitExceeded',
      `You have requested more instances (${requested}) than your current instance limit of ${limit} allows for the specified instance type.`,
    );
  }
}

export const IdempotentParameterMismatch = fixedError(
  'IdempotentParameterMismatch',
  'The client token you have provided is associated with a resource that is already deleted or has different parameters. Please use a different client token.',
);

/** The `noCapacity` fault: HTTP 500, as EC2 answers it. */
export class InsufficientInstanceCapacity extends AwsError {
  constructor(instanceType: string, availabilityZone: string) {
    super(
      'InsufficientInstanceCapacity',
      `We currently do not have sufficient ${instanceType} capacity in the Availability Zone you requested (${availabilityZone}). Our system will be working on provisioning additional capacity. You can currently get ${instanceType} capacity by not specifying an Availability Zone in your request or choosing a different Availability Zone.`,
      500,
    );
  }
}

/** An image in the wrong state for the action (DisableImage of a pending image, …). */
export class IncorrectState extends AwsError {
  constructor(message: string) {
    super('IncorrectState', message);
  }
}

/** RegisterImage with a name the account already uses. */
export class InvalidAmiNameDuplicate extends AwsError {
  constructor(name: string) {
    super('InvalidAMIName.Duplicate', `AMI name ${name} is already in use by AMI in this account`);
  }
}

export const InvalidLaunchTemplateIdMalformed = malformedId('InvalidLaunchTemplateId.Malformed', 'lt');

export class InvalidLaunchTemplateIdNotFound extends AwsError {
  constructor(id: string) {
    super(
      'InvalidLaunchTemplateId.NotFound',
      `The specified launch template, with template ID ${id}, does not exist.`,
    );
  }
}

export const InvalidLaunchTemplateNameNotFound = fixedError(
  'InvalidLaunchTemplateName.NotFoundException',
  'At least one of the launch templates specified in the request does not exist.',
);

export const InvalidLaunchTemplateNameAlreadyExists = fixedError(
  'InvalidLaunchTemplateName.AlreadyExistsException',
  'Launch template name already in use.',
);

export class InvalidLaunchTemplateVersionNotFound extends AwsError {
  constructor(id: string, version: string) {
    super(
      'InvalidLaunchTemplateId.VersionNotFound',
      `Could not find launch template version ${version} for the launch template with ID ${id}.`,
    );
  }
}
