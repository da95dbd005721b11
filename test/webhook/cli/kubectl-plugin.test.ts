// The plugin's command dispatch, and where it looks for kubeconfigs (as kubectl does).
import { describe, expect, it } from 'vitest';
import { runPlugin } from '../../../webhook/cli/kubectl-plugin.ts';
import { kubeconfigFiles } from '../../../webhook/cli/connection.ts';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: { stdout: (s: string) => void out.push(s), stderr: (s: string) => void err.push(s), env: {} },
  };
}

describe('runPlugin', () => {
  it('prints its version and its help, and refuses an unknown command', async () => {
    const v = io();
    expect(await runPlugin(['version'], v.io)).toBe(0);
    expect(v.out.join('')).toMatch(/^kubectl-leader_election 0\.1\.0 /);
    const h = io();
    expect(await runPlugin([], h.io)).toBe(0);
    expect(h.out.join('')).toContain('Usage: kubectl leader-election COMMAND');
    const bad = io();
    expect(await runPlugin(['stauts'], bad.io)).toBe(2);
    expect(bad.err.join('')).toContain('unknown command "stauts"');
  });

  it('status without a kubeconfig says where it looked', async () => {
    const r = io();
    r.io.env = { KUBECONFIG: '/nonexistent/a:/nonexistent/b' };
    expect(await runPlugin(['status'], r.io)).toBe(1);
    expect(r.err.join('')).toBe('error: no kubeconfig found (looked for /nonexistent/a, /nonexistent/b)\n');
  });
});

describe('kubeconfigFiles', () => {
  it('takes --kubeconfig, else every file of $KUBECONFIG, else ~/.kube/config', () => {
    expect(kubeconfigFiles('/x', { KUBECONFIG: '/a:/b' })).toEqual(['/x']);
    expect(kubeconfigFiles(undefined, { KUBECONFIG: '/a::/b' })).toEqual(['/a', '/b']);
    expect(kubeconfigFiles(undefined, { HOME: '/home/u' })).toEqual(['/home/u/.kube/config']);
  });
});
