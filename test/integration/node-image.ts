/**
 * A Node.js base image for the Dockerfile test, made from the runtime this machine already has
 * (no registry is reachable): node and its shared libraries, npm, busybox for RUN's shell, and the
 * host's CA bundle so npm can reach the npm registry during the build.
 */
import { execFile, spawn } from 'node:child_process';
import { chmod, copyFile, cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function copyInto(root: string, file: string): Promise<void> {
  await mkdir(path.join(root, path.dirname(file)), { recursive: true });
  await copyFile(file, path.join(root, file));
}

export async function importNodeBaseImage(socketPath: string, tag: string): Promise<void> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'de-noderoot-'));
  try {
    const node = (await run('sh', ['-c', 'readlink -f "$(command -v node)"'])).stdout.trim();
    await copyInto(root, node);
    if (node !== '/usr/bin/node') await symlink(node, path.join(root, 'usr/bin/node')).catch(() => undefined);
    const { stdout } = await run('ldd', [node]);
    for (const match of stdout.matchAll(/(\/[^\s]+\.so[^\s]*)/g)) await copyInto(root, match[1]!);
    const npmRoot = path.dirname(path.dirname((await run('sh', ['-c', 'readlink -f "$(command -v npm)"'])).stdout.trim()));
    await mkdir(path.join(root, path.dirname(npmRoot)), { recursive: true });
    await cp(npmRoot, path.join(root, npmRoot), { recursive: true });
    await symlink(path.join(npmRoot, 'bin/npm-cli.js'), path.join(root, 'usr/bin/npm'));
    await symlink(path.join(npmRoot, 'bin/npx-cli.js'), path.join(root, 'usr/bin/npx'));
    await copyInto(root, '/bin/busybox');
    for (const applet of ['sh', 'ls', 'cat', 'mkdir', 'rm', 'cp', 'mv', 'chmod', 'ln', 'env']) await symlink('busybox', path.join(root, 'bin', applet));
    await symlink('/bin/busybox', path.join(root, 'usr/bin/env'));
    await copyInto(root, '/etc/ssl/certs/ca-certificates.crt');
    await writeFile(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    await writeFile(path.join(root, 'etc/group'), 'root:x:0:\n');
    await mkdir(path.join(root, 'root'), { recursive: true });
    await mkdir(path.join(root, 'tmp'), { recursive: true });
    await chmod(path.join(root, 'tmp'), 0o1777);
    await new Promise<void>((resolve, reject) => {
      const tar = spawn('tar', ['-C', root, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const docker = spawn(
        'docker',
        ['-H', `unix://${socketPath}`, 'import', '--change', 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt', '--change', 'ENV HOME=/root', '-', tag],
        { stdio: ['pipe', 'ignore', 'inherit'] },
      );
      tar.stdout.pipe(docker.stdin);
      docker.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`docker import exited with ${code}`))));
    });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
