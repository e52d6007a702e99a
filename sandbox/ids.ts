/**
 * Resource ids shaped like EC2's: a prefix and 17 lowercase hex digits. Deterministic (a counter
 * per kind behind a fixed per-kind stem) and never reused within one sandbox, so ids sort in
 * creation order.
 */
import { createHash } from 'node:crypto';

export type IdKind = 'ami' | 'snap' | 'vol' | 'i' | 'r' | 'vpc' | 'subnet' | 'eni' | 'sg' | 'lt';

export class IdFactory {
  private readonly counters = new Map<IdKind, number>();

  next(kind: IdKind): string {
    const n = (this.counters.get(kind) ?? 0) + 1;
    this.counters.set(kind, n);
    return `${kind}-${stem(kind)}${n.toString(16).padStart(8, '0')}`;
  }
}

function stem(kind: string): string {
  return `0${createHash('sha256').update(`pulsar-ami-sandbox:${kind}`).digest('hex').slice(0, 8)}`;
}
