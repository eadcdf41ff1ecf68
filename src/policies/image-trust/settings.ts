/** The image-trust gate's settings, read once from the environment (config.ts) and shown on /rules. */
import type { RegistryCredentials } from '../../registry/credentials';
import type { SigningKey } from './keys';

export interface ImageTrustSettings {
  /** TRUSTED_REGISTRIES (alias REGISTRY), normalised hosts: `docker.io`, `127.0.0.1:5000`. */
  readonly registries: readonly string[];
  /** IMAGE_SIGNATURE_KEYS; empty = the registry allow-list alone. */
  readonly keys: readonly SigningKey[];
  /** IMAGE_TRUST_ALLOW_LOCAL_BUILDS: build, load, import, commit and plugin create are allowed. */
  readonly allowLocalBuilds: boolean;
  /** IMAGE_TRUST_TIMEOUT_MS: the whole registry conversation for one verification. */
  readonly timeoutMs: number;
  /** IMAGE_TRUST_CACHE_TTL_MS: how long a successful verification is reused. */
  readonly cacheTtlMs: number;
  readonly authFile?: string;
  readonly credentials?: RegistryCredentials;
}

/** What /rules shows: settings and key fingerprints, never credentials. */
export function imageTrustView(settings: ImageTrustSettings | undefined): Record<string, unknown> {
  if (!settings) return { enabled: false };
  return {
    enabled: true,
    trusted_registries: settings.registries,
    signature_keys: settings.keys.map((key) => ({ file: key.file, fingerprint: key.fingerprint })),
    signatures_required: settings.keys.length > 0,
    allow_local_builds: settings.allowLocalBuilds,
    timeout_ms: settings.timeoutMs,
    cache_ttl_ms: settings.cacheTtlMs,
    auth_file: settings.authFile ?? null,
    auth_registries: settings.credentials?.registries ?? [],
  };
}
