// One core/v1 Event, recorded best effort: an Event that cannot be written is logged at debug
// and dropped (Events explain; nothing depends on them). The agent's and the webhook's.
import type { KubeClient } from './kube-client.ts';
import type { Logger } from '../logger.ts';

export interface EventSource {
  /** source.component and reportingComponent. */
  component: string;
  /** reportingInstance, and the prefix of the Event's generated name. */
  instance: string;
}

export function recordEvent(
  client: KubeClient,
  log: Logger,
  source: EventSource,
  event: { namespace: string; involvedObject: object; reason: string; message: string },
): void {
  const now = new Date().toISOString();
  const { namespace, involvedObject, reason, message } = event;
  client
    .request('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, {
      body: {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${source.instance}.`, namespace },
        involvedObject,
        reason,
        message,
        type: 'Normal',
        source: { component: source.component },
        reportingComponent: source.component,
        reportingInstance: source.instance,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    })
    .catch((err: Error) => log.debug({ err: err.message, reason }, 'could not record event'));
}
