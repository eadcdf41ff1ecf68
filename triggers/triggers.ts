import type { Trigger } from 'docker-enforcer';

// Triggers run once per violation (every mode), in a worker thread: they never delay a stop or an
// AuthZ reply. Modules they use must be allowed with TRIGGERS_ALLOWED_MODULES (e.g. node:https).
export const triggers: Trigger[] = [
  {
    name: 'log at debug level',
    trigger: (v) => {
      console.debug(`${v.kind} violates ${JSON.stringify(v.reasons)}: ${v.action} [${v.mode} mode, ${v.checkSource}]`);
    },
  },
];
