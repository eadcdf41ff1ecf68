/**
 * The image-trust gate as a policy source: the checks a request needs (targets.ts) are verified
 * (verifier.ts, the only part that does I/O), then `trustSourceVerdict` turns the verdicts into the
 * source's answer for the one decision — pure, table-tested.
 */
import type { DockerClient } from '../../docker/client';
import type { ImageTrust } from '../../rules/api';
import { DockerError } from '../../docker/client';
import type { SourceVerdict } from '../../engine/decide';
import { errorMessage } from '../../util/errors';
import type { TrustCheck } from './targets';
import type { ImageTrustVerifier, TrustVerdict } from './verifier';

export const IMAGE_TRUST_SOURCE = 'image trust';
export const IMAGE_TRUST_PREFIX = 'image trust: ';

export interface GateOutcome {
  readonly verdicts: readonly TrustVerdict[];
  /** The verdict on the image a create would run: what container rules see as `c.imageTrust`. */
  readonly runVerdict?: TrustVerdict;
}

export interface GateDeps {
  readonly verifier: ImageTrustVerifier;
  readonly docker: Pick<DockerClient, 'inspect'>;
}

/** Verifies every check; never throws (a failure is an untrusted verdict that says why). */
export async function verifyChecks(deps: GateDeps, checks: readonly TrustCheck[]): Promise<GateOutcome> {
  let runVerdict: TrustVerdict | undefined;
  const verdicts = await Promise.all(
    checks.map(async (check): Promise<TrustVerdict | undefined> => {
      try {
        const verdict = await verifyCheck(deps, check);
        if (check.kind === 'run' && verdict) runVerdict = verdict;
        return verdict;
      } catch (err: unknown) {
        return { trusted: false, image: 'image' in check ? check.image : '', reason: `verification failed: ${errorMessage(err)}`, unavailable: true };
      }
    }),
  );
  return { verdicts: verdicts.filter((v): v is TrustVerdict => v !== undefined), ...(runVerdict ? { runVerdict } : {}) };
}

async function verifyCheck(deps: GateDeps, check: TrustCheck): Promise<TrustVerdict | undefined> {
  const { verifier } = deps;
  switch (check.kind) {
    case 'pull': {
      if (check.image === '') return { trusted: false, image: '', reason: `${check.what} names no image` };
      if (!check.allTags) return verifier.remote(check.image);
      const named = verifier.target(check.image);
      if (!named.trusted || verifier.settings.keys.length === 0) return named;
      return { ...named, trusted: false, reason: `pulling every tag of ${check.image} cannot be verified; pull a tag or a digest` };
    }
    case 'run': {
      // No image: dockerd refuses the create itself. Not on this host: dockerd answers "no such
      // image" and creates nothing (the CLI then pulls, which is judged as a pull).
      if (check.image === '') return undefined;
      const verdict = await verifier.local(check.image);
      return verdict === 'absent' ? undefined : verdict;
    }
    case 'start': {
      let params;
      try {
        params = await deps.docker.inspect(check.container);
      } catch (err: unknown) {
        if (err instanceof DockerError && err.notFound) return undefined;
        return { trusted: false, image: '', reason: `cannot inspect container ${JSON.stringify(check.container)}: ${errorMessage(err)}`, unavailable: true };
      }
      // The container's image id is immutable: a name re-tagged since the create changes nothing.
      return verifier.containerImage(params.Image ?? '', params.Config?.Image ?? '');
    }
    case 'target':
      return verifier.target(check.image);
    case 'local-build':
      if (verifier.settings.allowLocalBuilds) return undefined;
      return { trusted: false, image: '', reason: `${check.what} makes an image no registry vouches for (IMAGE_TRUST_ALLOW_LOCAL_BUILDS=False)` };
  }
}

/** The gate's answer: allow when every verdict trusts; otherwise deny (in MODE) with each reason. */
export function trustSourceVerdict(outcome: GateOutcome): SourceVerdict | undefined {
  if (outcome.verdicts.length === 0) return undefined;
  const reasons = [...new Set(outcome.verdicts.filter((v) => !v.trusted).map((v) => `${IMAGE_TRUST_PREFIX}${v.reason ?? 'not trusted'}`))];
  return { source: IMAGE_TRUST_SOURCE, allow: reasons.length === 0, reasons };
}

/** What a container rule sees as `c.imageTrust`. */
/** What a container rule sees as `c.imageTrust`. */
export function imageTrustFact(verdict: TrustVerdict | undefined): ImageTrust | null {
  if (!verdict) return null;
  return { trusted: verdict.trusted, registry: verdict.registry ?? null, digest: verdict.digest ?? null, key: verdict.key ?? null, reason: verdict.reason ?? null };
}
