/**
 * docker-enforcer's rule-author API: import these in rule files with
 * `import type { ContainerRule } from 'docker-enforcer'`.
 */
export type {
  ActionTaken,
  CheckSource,
  Container,
  ContainerConfig,
  ContainerMetrics,
  ContainerParams,
  ContainerRule,
  ContainerState,
  CpuStats,
  HostConfig,
  Mode,
  Mount,
  Request,
  RequestRule,
  RestartPolicy,
  Trigger,
  Verdict,
  WhitelistRule,
} from './rules/api';
