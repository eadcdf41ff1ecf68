/**
 * What declarative policies (docker-leash's checks) read about one request: facts already
 * normalised by the facts layer — bodies decoded as dockerd decodes them, binds resolved to host
 * paths, containers named as dockerd resolves them — so a check is a small pure function.
 */

/** The caller without a TLS identity (unix-socket calls carry no `User`), as docker-leash names it. */
export const ANONYMOUS = 'Anonymous';

export interface PolicyFacts {
  /** routes.ts action name (`containersCreate`, …; `unknown` when dockerd's table has no route). */
  readonly action: string;
  /** The action's namespace (`containers`, `images`, …; `unknown`). */
  readonly namespace: string;
  readonly method: string;
  /** The TLS user (client certificate CN), or ANONYMOUS. */
  readonly user: string;
  /**
   * Names of the containers the request creates or acts on, without Docker's leading `/`: a create's
   * `?name=` ('' when unnamed), an existing container's real name (looked up from an id or prefix);
   * empty for requests that name no container.
   */
  readonly containerNames: readonly string[];
  /**
   * Image references the request names, as written (create `Image`, pull `fromImage[:tag]`, push /
   * tag / inspect / history / remove path, tag `repo:tag`, build `t`, commit `repo:tag`); empty when none.
   * Prune is not listed (docker-leash does not restrict it).
   */
  readonly imageNames: readonly string[];
  /**
   * Host paths the request would bind into a container or a volume, normalised (absolute, no `.`,
   * `..`, `//` or trailing `/`): `HostConfig.Binds` host paths, bind `Mounts`, named volumes whose
   * local-driver options bind a host path (`type=none,o=bind,device=…`, given inline or found on the
   * existing volume), and `POST /volumes/create` with such options. Empty when none.
   */
  readonly bindSources: readonly string[];
  /** Volume names the request creates, uses or acts on; empty when none. */
  readonly volumeNames: readonly string[];
  /** Whether a create (or exec create) asks for a privileged container (process). */
  readonly privileged: boolean;
  /**
   * The user a create or exec create runs as; an empty `User` is resolved to the image's default
   * user ('' only when the image sets none either, which means root). Undefined for other actions.
   */
  readonly runAsUser?: string;
}

/** Facts a check needs fetched beyond the request itself (the caller fetches only these). */
export type LookupFact = 'containerNames' | 'bindSources' | 'runAsUser';
