// The CPU profile summary (bench/lib/cpuprofile.ts) on a hand-made profile whose answer is
// known: self time at the leaf, inclusive time once per stack even through recursion.
import { describe, expect, it } from 'vitest';
import {
  formatSummary,
  packageOf,
  summarizeProfile,
  type CpuProfile,
} from '../../../bench/lib/cpuprofile.ts';

const frame = (functionName: string, url = '', lineNumber = 0) => ({
  functionName,
  url,
  lineNumber,
  columnNumber: 0,
});

// (root) → handler (server.ts) → parse (server.ts) → parse (recursion) ; handler → send (fastify)
// and (root) → (idle)
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 6] },
    { id: 2, callFrame: frame('handler', 'file:///w/webhook/admission/server.ts', 203), children: [3, 5] },
    { id: 3, callFrame: frame('parse', 'file:///w/webhook/admission/server.ts', 160), children: [4] },
    { id: 4, callFrame: frame('parse', 'file:///w/webhook/admission/server.ts', 160) },
    {
      id: 5,
      callFrame: frame('send', 'file:///w/node_modules/fastify/lib/reply.js', 155),
    },
    { id: 6, callFrame: frame('(idle)') },
  ],
  startTime: 0,
  endTime: 10_000_000,
  // parse (outer) 1, parse (inner) 3, send 2, handler 1, idle 3
  samples: [3, 4, 4, 4, 5, 5, 2, 6, 6, 6],
  timeDeltas: Array<number>(10).fill(1000),
};

describe('summarizeProfile', () => {
  const s = summarizeProfile(profile);
  const fn = (name: string) => s.functions.find((e) => e.name === name);

  it('counts self time at the leaf and inclusive time once per stack', () => {
    expect(s.samples).toBe(10);
    expect(s.busy).toBeCloseTo(0.7);
    expect(fn('parse (server.ts:161)')).toEqual({ name: 'parse (server.ts:161)', self: 0.4, inclusive: 0.4 });
    expect(fn('handler (server.ts:204)')).toEqual({
      name: 'handler (server.ts:204)',
      self: 0.1,
      inclusive: 0.7,
    });
    expect(fn('send (reply.js:156)')?.self).toBeCloseTo(0.2);
    expect(s.functions[0]!.name).toBe('parse (server.ts:161)');
  });

  it('groups by package: node_modules names it, else the file', () => {
    const pkg = (name: string) => s.packages.find((e) => e.name === name);
    expect(pkg('server.ts')).toEqual({ name: 'server.ts', self: 0.5, inclusive: 0.7 });
    expect(pkg('fastify')).toEqual({ name: 'fastify', self: 0.2, inclusive: 0.2 });
    expect(pkg('(idle)')?.self).toBeCloseTo(0.3);
  });

  it('formats the tables', () => {
    const text = formatSummary(s, 2);
    expect(text).toContain('10 samples over 10.0 s; busy  70.0%');
    expect(text).toContain(' 40.0%  40.0%  parse (server.ts:161)');
  });
});

describe('packageOf', () => {
  it('names node internals, scoped packages and native frames', () => {
    expect(packageOf('node:internal/http', 'f')).toBe('node:internal');
    expect(packageOf('node:events', 'emit')).toBe('node:events');
    expect(packageOf('file:///a/node_modules/@pinojs/redact/index.js', 'r')).toBe('@pinojs/redact');
    expect(packageOf('file:///a/node_modules/x/node_modules/y/i.js', 'r')).toBe('y');
    expect(packageOf('', 'writeUtf8String')).toBe('(native)');
    expect(packageOf('', '(garbage collector)')).toBe('(garbage collector)');
  });
});
