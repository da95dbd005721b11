// Unit tests of the opt-in rule: the pod annotation, else the namespace label.
import { describe, expect, it } from 'vitest';
import { ANNOTATION } from '../../../common/contract/keys.ts';
import { isOptedIn } from '../../../common/contract/opt-in.ts';

const A = ANNOTATION;

describe('isOptedIn', () => {
  it.each([
    [undefined, false, false],
    [undefined, true, true],
    [{}, true, true],
    [{ [A.enabled]: 'true' }, false, true],
    [{ [A.enabled]: 'true' }, true, true],
    [{ [A.enabled]: 'false' }, true, false],
    [{ [A.enabled]: 'false' }, false, false],
    // Invalid values count as in so that the parser denies them (fail closed).
    [{ [A.enabled]: 'yes' }, false, true],
    [{ [A.enabled]: 'False' }, true, true],
  ] as const)('%j with namespace opt-in %s → %s', (ann, ns, want) => {
    expect(isOptedIn(ann, ns)).toBe(want);
  });
});
