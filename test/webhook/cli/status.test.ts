// Unit tests of the status command line: its arguments. The command against a real API
// server: test/integration/status-cli.int.test.ts.
import { describe, expect, it } from 'vitest';
import { parseStatusArgs, UsageError } from '../../../webhook/cli/status.ts';

describe('parseStatusArgs', () => {
  it('reads kubectl-style flags', () => {
    expect(parseStatusArgs(['status'])).toEqual({ allNamespaces: false, output: 'table' });
    expect(parseStatusArgs(['status', '-n', 'a', '-o', 'json', '--kubeconfig=/k', '--context', 'c'])).toEqual(
      {
        namespace: 'a',
        allNamespaces: false,
        output: 'json',
        kubeconfig: '/k',
        context: 'c',
      },
    );
    expect(parseStatusArgs(['-A', 'status', '-o=wide'])).toEqual({ allNamespaces: true, output: 'wide' });
    expect(parseStatusArgs(['status', '--help'])).toBe('help');
  });

  it.each([
    [[], 'missing command'],
    [['get'], 'unknown command get'],
    [['status', '-n'], '-n needs a value'],
    [['status', '-n', 'a', '-A'], 'cannot be used together'],
    [['status', '-o', 'yaml'], 'wide or json'],
    [['status', '--watch'], 'unknown flag --watch'],
  ])('refuses %j', (argv, message) => {
    expect(() => parseStatusArgs(argv)).toThrow(UsageError);
    expect(() => parseStatusArgs(argv)).toThrow(message);
  });
});
