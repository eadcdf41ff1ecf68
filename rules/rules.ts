import type { ContainerRule } from 'docker-enforcer';

// Each rule returns true when a container VIOLATES it. Examples (uncomment to enable):
//   { name: 'must have memory limit', rule: (c) => !c.params.HostConfig?.Memory },
//   { name: 'no more than 3 containers', rule: (c) => c.position >= 3, mode: 'WARN' },
//   { name: 'no privileged containers', rule: (c) => c.params.HostConfig?.Privileged === true },
export const rules: ContainerRule[] = [
  {
    name: 'always false',
    rule: () => false,
  },
];
