/**
 * Engine API versions as dockerd compares them (api/types/versions): dot-separated parts compared as
 * integers, a missing or unparsable part counting as 0 — so `1.41.0` is 1.41 and `1.23.9` is below
 * 1.24. A request without a version prefix runs at the engine's own (newest) version.
 */

function part(text: string | undefined): number {
  if (text === undefined || !/^\d+$/.test(text)) return 0;
  const value = Number(text);
  // strconv.Atoi fails past int64 and yields 0.
  return Number.isSafeInteger(value) ? value : 0;
}

/** -1, 0 or 1, as versions.compare. */
export function compareApiVersions(a: string, b: string): number {
  if (a === b) return 0;
  const left = a.split('.');
  const right = b.split('.');
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const l = part(left[i]);
    const r = part(right[i]);
    if (l !== r) return l > r ? 1 : -1;
  }
  return 0;
}

/**
 * True when the request runs at an API version below `version`. No prefix means the engine's
 * default version, which is at least 1.41 for every engine this daemon supports.
 */
export function runsBelow(apiVersion: string, version: string): boolean {
  return apiVersion !== '' && compareApiVersions(apiVersion, version) < 0;
}
