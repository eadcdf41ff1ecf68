import type { RequestRule } from 'docker-enforcer';

// Each rule returns true when a Docker API request VIOLATES it (AuthZ plugin mode). Example:
//   { name: 'no docker cp into test containers', rule: (r) => r.action === 'containersArchive' && r.method === 'PUT' },
export const requestRules: RequestRule[] = [
  {
    name: 'always false',
    rule: () => false,
  },
];
