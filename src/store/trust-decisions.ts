/** The last image-trust verdicts (allowed and refused), newest first, for /recent. Bounded: a ring. */
import type { CheckSource } from '../rules/api';
import type { TrustVerdict } from '../policies/image-trust/verifier';

export interface TrustDecision {
  readonly time: string;
  readonly source: CheckSource;
  readonly image: string;
  readonly trusted: boolean;
  readonly registry: string | null;
  readonly digest: string | null;
  readonly key: string | null;
  readonly layout: string | null;
  readonly reason: string | null;
  /** What was done: allowed, denied, warned (WARN mode), stopped, unverified. */
  readonly action: string;
}

interface Entry {
  readonly at: number;
  readonly verdict: TrustVerdict;
  readonly source: CheckSource;
  readonly action: string;
}

/**
 * Recording is on the AuthZ path of every create, so it only stores references in a fixed ring
 * (an unshift-and-truncate array cost ~8 µs per decision); the view is built when /recent is read.
 */
export class TrustDecisions {
  private readonly ring: Array<Entry | undefined>;
  private next = 0;

  constructor(private readonly limit = 200) {
    this.ring = new Array<Entry | undefined>(limit).fill(undefined);
  }

  record(verdict: TrustVerdict, source: CheckSource, action: string, now = Date.now()): void {
    this.ring[this.next] = { at: now, verdict, source, action };
    this.next = (this.next + 1) % this.limit;
  }

  recent(): TrustDecision[] {
    const out: TrustDecision[] = [];
    for (let i = 1; i <= this.limit; i++) {
      const entry = this.ring[(this.next - i + this.limit) % this.limit];
      if (!entry) break;
      const { verdict } = entry;
      out.push({
        time: new Date(entry.at).toISOString(),
        source: entry.source,
        image: verdict.image,
        trusted: verdict.trusted,
        registry: verdict.registry ?? null,
        digest: verdict.digest ?? null,
        key: verdict.key ?? null,
        layout: verdict.layout ?? null,
        reason: verdict.reason ?? null,
        action: entry.action,
      });
    }
    return out;
  }
}
