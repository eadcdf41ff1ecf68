/**
 * The enforcer's own container, when it runs in one: it must never stop itself, but sparing it by
 * *name* (the original's default WHITE_LIST) spared anything anybody named `docker_enforcer`. The id
 * comes from SELF_CONTAINER (an id, or a name resolved once dockerd answers) or from the process's
 * own view of its cgroup and mounts: Docker bind-mounts /var/lib/docker/containers/<id>/hostname,
 * hosts and resolv.conf into every container, and cgroup v1 (and v2 with the systemd driver) names
 * the container's cgroup after its id.
 */
const CONTAINER_ID = /^[0-9a-f]{64}$/;

/** The container id found in /proc/self/cgroup or /proc/self/mountinfo text, if any. */
export function containerIdFromProc(cgroup: string, mountinfo: string): string | undefined {
  const fromCgroup = /(?:\/docker\/|docker-)([0-9a-f]{64})(?:\.scope)?(?:$|\/|\n)/m.exec(cgroup);
  if (fromCgroup) return fromCgroup[1];
  const fromMounts = /\/containers\/([0-9a-f]{64})\/(?:hostname|hosts|resolv\.conf)\s/.exec(mountinfo);
  return fromMounts?.[1];
}

export function isContainerId(value: string): boolean {
  return CONTAINER_ID.test(value);
}
