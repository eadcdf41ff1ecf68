/**
 * Registry credentials from a docker-style `config.json` (IMAGE_TRUST_AUTH_FILE). dockerd strips
 * `X-Registry-Auth` before an AuthZ plugin sees a request, so the user's own credentials never reach
 * us: the admin gives the enforcer read access of its own. Credential helpers (`credsStore`,
 * `credHelpers`) would mean running programs named in a file; they are reported, not run.
 */
import { readFileSync } from 'node:fs';
import { errorMessage } from '../util/errors';

export interface RegistryCredentials {
  /** base64 `user:password` for a registry host as TRUSTED_REGISTRIES names it, if any. */
  basic(registry: string): string | undefined;
  readonly registries: readonly string[];
}

/** `https://index.docker.io/v1/`, `registry.example.com`, `http://127.0.0.1:5000/v2/` → the host as we name it. */
export function authKeyHost(key: string): string {
  const host = key.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').split('/')[0]!.toLowerCase();
  return host === 'index.docker.io' || host === 'registry-1.docker.io' ? 'docker.io' : host;
}

/** Reads the file; every problem is returned at once, naming the file. */
export function loadRegistryCredentials(file: string): { credentials?: RegistryCredentials; errors: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err: unknown) {
    return { errors: [`IMAGE_TRUST_AUTH_FILE ${file}: ${errorMessage(err)}`] };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { errors: [`IMAGE_TRUST_AUTH_FILE ${file}: not a JSON object`] };
  const errors: string[] = [];
  const config = json as Record<string, unknown>;
  const auths = config['auths'] ?? {};
  if (typeof auths !== 'object' || auths === null || Array.isArray(auths)) return { errors: [`IMAGE_TRUST_AUTH_FILE ${file}: "auths" is not an object`] };
  const byHost = new Map<string, string>();
  for (const [key, entry] of Object.entries(auths as Record<string, unknown>)) {
    const e = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    let basic: string | undefined;
    if (typeof e['auth'] === 'string' && e['auth'] !== '') {
      const decoded = Buffer.from(e['auth'], 'base64').toString('utf8');
      if (!decoded.includes(':')) errors.push(`IMAGE_TRUST_AUTH_FILE ${file}: auths[${JSON.stringify(key)}].auth is not base64 of user:password`);
      else basic = e['auth'];
    } else if (typeof e['username'] === 'string' && typeof e['password'] === 'string') {
      basic = Buffer.from(`${e['username']}:${e['password']}`).toString('base64');
    } else {
      errors.push(`IMAGE_TRUST_AUTH_FILE ${file}: auths[${JSON.stringify(key)}] has neither "auth" nor "username" and "password"`);
    }
    if (basic) byHost.set(authKeyHost(key), basic);
  }
  for (const helperKey of ['credsStore', 'credHelpers']) {
    if (config[helperKey] !== undefined) errors.push(`IMAGE_TRUST_AUTH_FILE ${file}: "${helperKey}" is not supported (it runs a helper program); put the registry's credentials under "auths"`);
  }
  if (errors.length > 0) return { errors };
  // Host names ignore case: `Registry.Example.com/app` is the trusted registry.example.com, and
  // image references keep the case they were written in.
  return { credentials: { basic: (registry) => byHost.get(registry.toLowerCase()), registries: [...byHost.keys()] }, errors: [] };
}
