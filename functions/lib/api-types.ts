/** The HTTP API's response bodies: one definition for the Lambdas that send them and the CLI that reads them. */
import type { Ami } from './ami';

export type { Ami };

export interface AmiListResponse {
  items: Ami[];
  /** Present when more items follow; pass it back as `?nextToken=`. */
  nextToken?: string;
}

export interface LatestAmiResponse {
  imageId: string;
  /** `parameter`: the published latest (one SSM read); `search`: newest matching image. */
  source: 'parameter' | 'search';
  /** The image, when the answer came from a search. */
  ami?: Ami;
}

export type SnapshotOutcome = 'deleted' | 'kept' | 'failed' | 'would-delete';

export interface SnapshotResult {
  snapshotId: string;
  status: SnapshotOutcome;
  error?: string;
}

export interface DeleteAmiResponse {
  imageId: string;
  name: string;
  state: string;
  dryRun: boolean;
  deregistered: boolean;
  snapshots: SnapshotResult[];
  /** When the deleted AMI was the published latest: the AMI now published, or null when none is left. */
  latestRepublished?: string | null;
}

/** RFC 9457 problem document, with the extension members this API uses. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  field?: string;
  errors?: { field: string; message: string }[];
  imageId?: string;
  instanceIds?: string[];
  awsError?: string;
  requestId?: string;
}
