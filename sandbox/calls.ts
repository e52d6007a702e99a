/** Every authenticated AWS call (and API request) the sandbox answered, for tests to assert on. */
export interface CallRecord {
  /** `ec2`, `ssm`, `sts`, `cloudformation`, …, or `execute-api` for the project's API. */
  service: string;
  /** `DescribeImages`, or `GET /amis/{id}` for the API. */
  action: string;
  region: string;
  dryRun: boolean;
  /** ISO 8601 time the call arrived. */
  at: string;
  /** HTTP status answered. */
  status?: number;
  /** The request path, for API calls. */
  path?: string;
}

const LIMIT = 100_000;

export class CallLog {
  private calls: CallRecord[] = [];

  add(call: Omit<CallRecord, 'at'>): CallRecord {
    const record: CallRecord = { ...call, at: new Date().toISOString() };
    this.calls.push(record);
    if (this.calls.length > LIMIT) this.calls.splice(0, this.calls.length - LIMIT);
    return record;
  }

  list(): readonly CallRecord[] {
    return this.calls;
  }

  clear(): void {
    this.calls = [];
  }
}
