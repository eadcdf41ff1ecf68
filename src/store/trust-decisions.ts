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
  /** What was done: allowed, denied, warned (WARN mode), stopped. */
  readonly action: string;
}

export class TrustDecisions {
  private readonly items: TrustDecision[] = [];

  constructor(private readonly limit = 200) {}

  record(verdict: TrustVerdict, source: CheckSource, action: string, now = new Date()): void {
    this.items.unshift({
      time: now.toISOString(),
      source,
      image: verdict.image,
      trusted: verdict.trusted,
      registry: verdict.registry ?? null,
      digest: verdict.digest ?? null,
      key: verdict.key ?? null,
      layout: verdict.layout ?? null,
      reason: verdict.reason ?? null,
      action,
    });
    if (this.items.length > this.limit) this.items.length = this.limit;
  }

  recent(): readonly TrustDecision[] {
    return this.items;
  }
}
