/**
 * The CIS Docker Benchmark §5 "Container Runtime" items the `cis-docker` pack knows, keyed by a
 * stable slug: CIS renumbers between versions (v1.1 had AppArmor as 5.1), so the number is data.
 * Numbers and titles follow CIS Docker Benchmark v1.6.0 as docker-bench-security implements it.
 * 5.7 (sshd inside containers) needs `docker exec ps` in every container and is not part of the pack.
 */

export type CisScope =
  /** Judged on a container: its create body at admission, `docker inspect` at runtime. */
  | 'container'
  /** Judged on an exec: the exec create body at admission, the exec's inspect at runtime. */
  | 'exec'
  /** Judged on a request: swarm init/join. */
  | 'swarm';

export interface CisCatalogEntry {
  readonly id: string;
  readonly cis: string;
  readonly title: string;
  readonly level: 1 | 2;
  /** Manual items are reported (pass/fail in /report), never enforced: their mode is always off. */
  readonly informational: boolean;
  readonly scope: CisScope;
  readonly rationale: string;
}

const entry = (cis: string, id: string, title: string, scope: CisScope, rationale: string, options: { level?: 1 | 2; informational?: boolean } = {}): CisCatalogEntry => ({
  id,
  cis,
  title,
  level: options.level ?? 1,
  informational: options.informational ?? false,
  scope,
  rationale,
});

export const CIS_CATALOG: readonly CisCatalogEntry[] = [
  entry('5.1', 'swarm-mode-enabled', 'Swarm mode is not enabled, if not needed', 'swarm', 'A swarm node opens management ports and a raft store; a host that does not need it should not run it.'),
  entry('5.2', 'apparmor-unconfined', 'An AppArmor profile is enabled, if applicable', 'container', 'AppArmor confines what the container processes may do on the host; unconfined removes that layer.'),
  entry('5.3', 'selinux-options-missing', 'SELinux security options are set, if applicable', 'container', 'SELinux labels confine container processes; label=disable removes the confinement.', { level: 2 }),
  entry('5.4', 'capabilities-added', 'Linux kernel capabilities are restricted within containers', 'container', 'Each capability beyond the default set widens what root in the container can do to the host.'),
  entry('5.5', 'privileged-container', 'Privileged containers are not used', 'container', 'A privileged container has every capability and every device: root in it is root on the host.'),
  entry('5.6', 'sensitive-host-dir-mounted', 'Sensitive host system directories are not mounted on containers', 'container', 'A writable mount of /, /boot, /dev, /etc, /lib, /proc, /sys or /usr lets the container change the host.'),
  entry('5.8', 'privileged-port-mapped', 'Privileged ports are not mapped within containers', 'container', 'Host ports below 1024 are reserved for services the host trusts.'),
  entry('5.9', 'ports-published', 'Only needed ports are open on the container', 'container', 'Every published port is attack surface; review that each one is needed.', { informational: true }),
  entry('5.10', 'host-network', "The host's network namespace is not shared", 'container', "With the host's network a container can see and bind every host interface and reach services on loopback."),
  entry('5.11', 'memory-unlimited', 'Memory usage for containers is limited', 'container', 'A container without a memory limit can starve the host and every other container.'),
  entry('5.12', 'cpu-unlimited', 'CPU priority is set appropriately on containers', 'container', 'Without CPU shares or a CPU limit a container competes equally with the host for CPU time.'),
  entry('5.13', 'rootfs-writable', "The container's root filesystem is mounted as read only", 'container', "A read-only root filesystem stops an intruder from changing the container's binaries."),
  entry('5.14', 'ports-bound-to-all-interfaces', 'Incoming container traffic is bound to a specific host interface', 'container', 'A port published on 0.0.0.0 is reachable on every host interface, including public ones.'),
  entry('5.15', 'restart-retries-over-5', "The 'on-failure' container restart policy is set to at most 5 retries", 'container', 'Endless restarts of a failing container can starve the host and hide the failure.'),
  entry('5.16', 'host-pid', "The host's process namespace is not shared", 'container', "With the host's PID namespace a container sees and can signal every host process."),
  entry('5.17', 'host-ipc', "The host's IPC namespace is not shared", 'container', "With the host's IPC namespace a container can read and write the host's shared memory."),
  entry('5.18', 'host-devices', 'Host devices are not directly exposed to containers', 'container', 'A host device in a container can be read, written or used to escape; review each one.', { informational: true }),
  entry('5.19', 'ulimits-default', 'The default ulimit is overwritten at runtime if needed', 'container', 'Per-container ulimits bound what one container can take; review whether the defaults fit.', { informational: true }),
  entry('5.20', 'mount-propagation-shared', 'Mount propagation mode is not set to shared', 'container', 'A shared mount propagates mounts made in the container to the host.'),
  entry('5.21', 'host-uts', "The host's UTS namespace is not shared", 'container', "With the host's UTS namespace a container can change the host's name."),
  entry('5.22', 'seccomp-unconfined', "The default seccomp profile is not disabled", 'container', 'The default seccomp profile blocks dangerous system calls; unconfined allows them all.'),
  entry('5.23', 'exec-privileged', 'docker exec commands are not used with the privileged option', 'exec', 'A privileged exec gives the process every capability, whatever the container was started with.', { level: 2 }),
  entry('5.24', 'exec-as-root', 'docker exec commands are not used with the user=root option', 'exec', 'An exec as root bypasses the user the container was meant to run as.', { level: 2 }),
  entry('5.25', 'cgroup-parent-set', 'cgroup usage is confirmed', 'container', 'A container in a cgroup of its own choosing escapes the limits the host applies to containers.'),
  entry('5.26', 'new-privileges-allowed', 'The container is restricted from acquiring additional privileges', 'container', 'Without no-new-privileges a setuid binary in the container can gain privileges.'),
  entry('5.27', 'healthcheck-missing', 'Container health is checked at runtime', 'container', 'Without a health check a hung container looks healthy and is never restarted or reported.'),
  entry('5.28', 'image-not-pinned', 'Docker commands always make use of the latest version of their image', 'container', 'An image named by tag can change under the same name; pinning by digest makes runs repeatable.', { informational: true }),
  entry('5.29', 'pids-unlimited', 'The PIDs cgroup limit is used', 'container', 'Without a PIDs limit a fork bomb in one container takes the whole host down.'),
  entry('5.30', 'default-bridge', "Docker's default bridge docker0 is not used", 'container', 'Containers on the default bridge can reach each other; a user-defined network isolates them.', { level: 2, informational: true }),
  entry('5.31', 'host-userns', "The host's user namespaces are not shared", 'container', 'With the host user namespace, root in the container is root on the host when user namespaces are remapped.'),
  entry('5.32', 'docker-socket-mounted', 'The Docker socket is not mounted inside any containers', 'container', 'The Docker socket is root on the host: a container with it can start a privileged container.'),
];

const BY_KEY = new Map<string, CisCatalogEntry>(CIS_CATALOG.flatMap((check) => [[check.id, check], [check.cis, check]] as const));

/** A check by slug (`privileged-container`) or CIS number (`5.5`). */
export function cisCheck(key: string): CisCatalogEntry | undefined {
  return BY_KEY.get(key);
}
