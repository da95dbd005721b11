// The control plane's PKI, made with openssl: a cluster CA, serving and client
// certificates signed by it, and the service-account signing key.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export interface CertFiles {
  cert: string;
  key: string;
}

export interface Pki {
  dir: string;
  ca: CertFiles;
  apiserver: CertFiles;
  admin: CertFiles;
  controllerManager: CertFiles;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

export function createCa(dir: string, name = 'ca'): CertFiles {
  const key = `${name}.key`;
  const cert = `${name}.crt`;
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key], dir);
  openssl(
    [
      'req',
      '-x509',
      '-new',
      '-key',
      key,
      '-sha256',
      '-days',
      '365',
      '-subj',
      '/CN=leader-election-test-ca',
      '-out',
      cert,
    ],
    dir,
  );
  return { cert: join(dir, cert), key: join(dir, key) };
}

export interface IssueOptions {
  cn: string;
  org?: string;
  /** Subject alternative names, e.g. ['IP:127.0.0.1', 'DNS:localhost']; makes a serving certificate. */
  sans?: string[];
  days?: number;
}

/** Issues a certificate signed by `ca` into dir/name.{crt,key}. */
export function issueCert(dir: string, ca: CertFiles, name: string, opts: IssueOptions): CertFiles {
  const key = `${name}.key`;
  const csr = `${name}.csr`;
  const cert = `${name}.crt`;
  const ext = `${name}.ext`;
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key], dir);
  const subj = `/CN=${opts.cn}${opts.org ? `/O=${opts.org}` : ''}`;
  openssl(['req', '-new', '-key', key, '-subj', subj, '-out', csr], dir);
  const lines = ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment'];
  if (opts.sans?.length) {
    lines.push('extendedKeyUsage=serverAuth', `subjectAltName=${opts.sans.join(',')}`);
  } else {
    lines.push('extendedKeyUsage=clientAuth');
  }
  writeFileSync(join(dir, ext), lines.join('\n') + '\n');
  openssl(
    [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      ca.cert,
      '-CAkey',
      ca.key,
      '-CAcreateserial',
      '-days',
      String(opts.days ?? 365),
      '-sha256',
      '-extfile',
      ext,
      '-out',
      cert,
    ],
    dir,
  );
  return { cert: join(dir, cert), key: join(dir, key) };
}

export function createPki(dir: string): Pki {
  const ca = createCa(dir);
  const apiserver = issueCert(dir, ca, 'apiserver', {
    cn: 'kube-apiserver',
    sans: [
      'IP:127.0.0.1',
      'IP:10.0.0.1',
      'DNS:localhost',
      'DNS:kubernetes',
      'DNS:kubernetes.default',
      'DNS:kubernetes.default.svc',
    ],
  });
  const admin = issueCert(dir, ca, 'admin', { cn: 'admin', org: 'system:masters' });
  const controllerManager = issueCert(dir, ca, 'kube-controller-manager', {
    cn: 'system:kube-controller-manager',
  });
  openssl(['genrsa', '-out', 'sa.key', '2048'], dir);
  openssl(['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);
  return {
    dir,
    ca,
    apiserver,
    admin,
    controllerManager,
    serviceAccountKey: join(dir, 'sa.key'),
    serviceAccountPub: join(dir, 'sa.pub'),
  };
}
