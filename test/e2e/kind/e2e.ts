// What the kind end-to-end tests share beyond local-cluster's kind helpers: the cluster the
// project's global setup provides, and the safety check as an expectation.
import { expect, inject } from 'vitest';
import type { KubeClient } from '../../../common/kube/kube-client.ts';
import {
  type Answer,
  type ElectedGroup,
  KindCluster,
  oneServerAtATime,
} from '../../../local-cluster/index.ts';

/** The cluster of global-setup.ts (kind-up's le-e2e, or E2E_KUBECONFIG's). */
export function e2eCluster(): KindCluster {
  return new KindCluster(inject('e2eKubeconfig'), inject('e2eContext'));
}

/** A client for that cluster. */
export function e2eClient(): KubeClient {
  return e2eCluster().client();
}

/**
 * Clients never saw two pods serving in turns, and the Service never had two ready
 * endpoints at once (oneServerAtATime).
 */
export function expectOneServerAtATime(group: ElectedGroup, got: Answer[], since: number): void {
  expect(oneServerAtATime(group, got, since)).toEqual([]);
}
