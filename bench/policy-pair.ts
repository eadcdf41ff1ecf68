/**
 * A realistic docker-leash pair for the AuthZ benchmark (3 rule sets, 5 groups, 20 checks), written
 * so the captured create envelope, sent as `alice` on host `wks01`, passes every check it meets:
 * the benchmark measures what judging costs, not a denial's bookkeeping.
 */
export const BENCH_POLICIES = `
- description: Servers are for admins; monitoring lists.
  hosts: [+^srv\\d\\d, -^srv99]
  default: Deny
  policies:
    - members: [admins]
      rules: {any: {Allow: }}
    - members: [monitoring]
      rules:
        containersList: {Allow: }
        containersInspect: {Allow: }
        containersLogs: {ContainerName: [^monitored-]}
        system: {ReadOnly: }
- description: Workstations; users own containers, binds and volumes named after them.
  hosts: [+^wks\\d\\d, +^laptop-]
  default: ReadOnly
  policies:
    - members: [admins]
      rules: {any: {Allow: }}
    - members: [users, developers]
      rules:
        containersCreate:
          ContainerName: [^$USER-, ^web-, ^shared-]
          BindMount: [-/, +/home/$USER/, +/srv/data/, -/home/$USER/.ssh/, +/tmp/]
          ImageName: [^registry\\.example\\.com/, ^library/, ^enforcer-test]
          VolumeName: [^$USER-]
          Privileged:
          User: [+^$USER$, +^1000, +^nobody$, -^root$]
        containers:
          ContainerName: [^$USER-, ^web-, ^shared-]
        execCreate:
          ContainerName: [^$USER-]
          User: [^$USER$]
        images:
          ImageName: [^registry\\.example\\.com/$USER/, ^library/]
        volumes:
          VolumeName: [^$USER-]
    - members: [developers]
      rules:
        containersLogs: {Allow: }
        images: {ImageName: [^library/]}
- description: Everything else is read-only; anonymous callers get nothing.
  hosts: [+.*]
  default: ReadOnly
  policies:
    - members: [anonymous]
      rules: {any: {Deny: }}
`;

export const BENCH_GROUPS = `
admins: [rda, mal]
users: [alice, bob, carol, dave]
developers: [erin, frank]
monitoring: [xymon_1]
anonymous: [Anonymous]
`;
