/** The reference's examples (docs: leash-policies.md), verbatim: an admin copies such files unchanged. */

/** groups.yml of the documented format */
export const REFERENCE_GROUPS = `---
admins:
  - rda
  - mal
users:
  - jre
  - lgh
monitoring:
  - xymon_1
anonymous:
  - Anonymous
all:
  - "*"
...
`;

/** policies.yml of the documented format: three rule sets */
export const REFERENCE_POLICIES = `---
- description: Servers are fully accessible to Admins.
               Monitoring group can only list containers.
  hosts:
    - +^srv\\d\\d.*
  default: Deny
  policies:
    - members:
        - admins
      rules:
        any:
          Allow:
    - members:
        - monitoring
      rules:
        containersList:
          Allow:

- description: Users own containers and binds named after them.
  hosts:
    - +^wks\\d\\d.*
  default: ReadOnly
  policies:
    - members:
        - admins
      rules:
        any:
          Allow:
    - members:
        - users
      rules:
        containersLogs:
          ContainerName:
            - ^bar-
            - ^$USER-
        containers:
          ContainerName:
            - ^$USER-
          BindMount:
            - -/
            - +/home/$USER
            - +/0

- description: Every other host. Anonymous users get nothing.
  hosts:
    - +.*
  default: ReadOnly
  policies:
    - members:
        - admins
      rules:
        any:
          Allow:
    - members:
        - Anonymous
      rules:
        any:
          Deny:
...
`;

/** policies.yml of the older README format */
export const REFERENCE_NAMED_POLICIES = `# policies.yml
openbar:
  containersCreate:
    Allow:
restricted:
  containersCreate:
    pathCheck:            # = BindMount
      - "-/"
      - "+/home/$USER"
  containersDelete:
    Deny:
readonly:
  any:
    ReadOnly:
`;

/** groups.yml of the older README format */
export const REFERENCE_NAMED_GROUPS = `# groups.yml
admins:
  policies: [openbar]
  members: [rda, mal]
all:
  policies: [readonly]
  members: ["*"]
`;
