import { expect } from 'chai';
import { containerIdFromProc } from '../../../src/facts/self-container';

const ID = 'a'.repeat(12) + '0123456789abcdef'.repeat(3) + 'b'.repeat(4);

describe('facts: the enforcer\'s own container, from /proc', () => {
  const table: Array<[what: string, cgroup: string, mountinfo: string, id: string | undefined]> = [
    ['cgroup v1', `12:memory:/docker/${ID}\n11:cpu:/docker/${ID}\n`, '', ID],
    ['cgroup v2, systemd driver', `0::/system.slice/docker-${ID}.scope\n`, '', ID],
    ['cgroup v2 with a private namespace: the hostname bind mount', '0::/\n', `610 600 8:1 /var/lib/docker/containers/${ID}/hostname /etc/hostname rw,relatime - ext4 /dev/sda1 rw\n`, ID],
    ['on the host', '0::/system.slice/docker_enforcer.service\n', '22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n', undefined],
    ['a 64-hex name elsewhere is not a container', `0::/user.slice/${ID}\n`, '', undefined],
  ];
  for (const [what, cgroup, mountinfo, id] of table) it(what, () => expect(containerIdFromProc(cgroup, mountinfo)).to.equal(id));
});
