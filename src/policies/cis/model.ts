/**
 * The shapes the CIS pack is built from: checks (checks.ts) read facts and answer a finding; the
 * packs file (packs-file.ts) says which checks are on, in which mode, and whom they spare; the judge
 * (judge.ts) combines both, pure, into results for /report and violations for the decision.
 */
import type { ContainerParams, Mode } from '../../rules/api';

export type CisResult = 'pass' | 'fail' | 'not_applicable';

export interface CisFinding {
  readonly result: CisResult;
  /** What failed, for the denial and the report: `CapAdd SYS_ADMIN`, `/etc mounted read-write`. */
  readonly detail?: string;
}

/**
 * A container as a check sees it, in `docker inspect` shape. At admission it is the container
 * dockerd will build from the create body (facts/container-create: Config and HostConfig, binds as
 * written; no Mounts, State or NetworkSettings yet); at runtime it is `docker inspect` itself.
 */
export interface ContainerSubject {
  readonly form: 'admission' | 'runtime';
  readonly params: ContainerParams;
  /**
   * At admission: whether the image defines a HEALTHCHECK (5.27 passes on the image's own), when
   * the caller looked it up; undefined = not known.
   */
  readonly imageHealthcheck?: boolean;
}

/** An exec as a check sees it: the exec create body (admission) or the exec's inspect (runtime). */
export interface ExecSubject {
  readonly form: 'admission' | 'runtime';
  readonly user: string;
  readonly privileged: boolean;
}

/** One check's logic; every form it supports. A check without a form answers not_applicable there. */
export interface CisCheckLogic {
  readonly id: string;
  container?(subject: ContainerSubject): CisFinding;
  exec?(subject: ExecSubject): CisFinding;
  /** Request-level checks (5.1): the action dockerd will run. */
  request?(action: string): CisFinding;
}

/** `off` | WARN | KILL: per pack, and per check. */
export type PackMode = 'off' | Mode;

/** Container-name and image-name regexes, searched in the name as docker-bench's -x patterns are (anchor with ^ and $). */
export interface Exclusion {
  readonly names: readonly RegExp[];
  readonly images: readonly RegExp[];
}

/** The `cis-docker` entry of the packs file, compiled. */
export interface CisPackConfig {
  /** The pack's mode: every check's, unless `checks` overrides it. */
  readonly mode: PackMode;
  /** Per-check overrides, keyed by slug (a CIS number in the file is resolved to its slug). */
  readonly checkModes: ReadonlyMap<string, PackMode>;
  /** Spares containers from every check of the pack. */
  readonly exclude: Exclusion;
  /** Spares containers from one check, keyed by slug. */
  readonly excludeChecks: ReadonlyMap<string, Exclusion>;
}

/** One check's outcome for one subject: what /report shows and what a violation is made of. */
export interface CisCheckResult {
  readonly id: string;
  readonly cis: string;
  readonly result: CisResult | 'excluded';
  /** The check's effective mode (`off` for informational checks and checks turned off). */
  readonly mode: PackMode;
  readonly detail?: string;
}
