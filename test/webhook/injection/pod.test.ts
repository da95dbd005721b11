// Unit tests of pod injection: the agent, the readiness gate or role label, opt-in, denials and
// the Lease name, checked by applying each patch (test/webhook/injection/fixtures.ts).
import { describe, expect, it } from 'vitest';
import { LABEL_INJECTED, LABEL_ROLE } from '../../../common/contract/keys.ts';
import { agentContainer } from '../../../webhook/injection/agent-container.ts';
import { injectPod } from '../../../webhook/injection/pod.ts';
import { type WebhookConfig } from '../../../webhook/injection/result.ts';
import {
  type Raw,
  A,
  IMAGE,
  CONFIG,
  CTX,
  GATE,
  AGENT,
  apply,
  deploymentPod,
  expectPatch,
  expectDeny,
  expectSkip,
  inject,
  envOf,
  agentOf,
  okConfig,
} from './fixtures.ts';

describe('injectPod: the patch on the raw pod', () => {
  it('injects a Deployment pod that has only generateName, creating absent arrays', () => {
    const pod = deploymentPod();
    const { doc, patch, warnings } = inject(pod);
    expect(patch.map((op) => op.path)).toEqual([
      '/spec/initContainers',
      '/spec/readinessGates',
      '/spec/volumes',
      '/metadata/labels/leader-election~1injected',
      '/metadata/annotations/leader-election~1lease-name',
      '/metadata/annotations/leader-election~1status',
    ]);
    expect(warnings).toEqual([]);
    expect(doc.metadata.labels[LABEL_INJECTED]).toBe('true');
    expect(doc.spec.initContainers).toEqual([agentContainer(okConfig(), 'web', CONFIG, true)]);
    expect(doc.spec.readinessGates).toEqual([GATE]);
    expect(doc.metadata.annotations).toEqual({
      [A.enabled]: 'true',
      [A.leaseName]: 'web',
      [A.status]: 'injected',
    });
    expect(doc.metadata.name).toBeUndefined();
    // Nothing else moved.
    expect({
      ...doc,
      spec: { ...doc.spec, initContainers: undefined, readinessGates: undefined, volumes: undefined },
    }).toEqual({
      ...pod,
      metadata: {
        ...pod.metadata,
        annotations: doc.metadata.annotations,
        labels: { ...pod.metadata.labels, [LABEL_INJECTED]: 'true' },
      },
      spec: { ...pod.spec, initContainers: undefined, readinessGates: undefined },
    });
  });

  it('builds the agent container the contract describes', () => {
    const { doc } = inject(deploymentPod());
    const c = agentOf(doc);
    expect(c).toEqual({
      name: AGENT,
      image: IMAGE,
      restartPolicy: 'Always',
      env: [
        { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
        {
          name: 'POD_NAMESPACE',
          valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } },
        },
        { name: 'POD_UID', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.uid' } } },
        { name: 'POD_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } } },
        { name: 'LEASE_NAME', value: 'web' },
        { name: 'LEASE_DURATION', value: '15s' },
        { name: 'RENEW_DEADLINE', value: '10s' },
        { name: 'RETRY_PERIOD', value: '2s' },
        { name: 'ROUTING', value: 'readiness-gate' },
        { name: 'ON_DELETION', value: 'release' },
        { name: 'APP_UNREADY_GRACE', value: '10s' },
        { name: 'AGENT_PORT', value: '4040' },
        {
          name: 'POD_TEMPLATE_HASH',
          valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: "metadata.labels['pod-template-hash']" } },
        },
        {
          name: 'CONTROLLER_REVISION_HASH',
          valueFrom: {
            fieldRef: { apiVersion: 'v1', fieldPath: "metadata.labels['controller-revision-hash']" },
          },
        },
      ],
      ports: [{ name: 'le-agent', containerPort: 4040, protocol: 'TCP' }],
      volumeMounts: [
        {
          name: 'leader-election-agent-token',
          mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
          readOnly: true,
        },
      ],
      readinessProbe: {
        httpGet: { path: '/readyz', port: 'le-agent' },
        periodSeconds: 1,
        failureThreshold: 1,
        timeoutSeconds: 1,
      },
      livenessProbe: {
        httpGet: { path: '/healthz', port: 'le-agent' },
        periodSeconds: 5,
        failureThreshold: 3,
        timeoutSeconds: 2,
      },
      resources: { requests: { cpu: '10m', memory: '48Mi' }, limits: { cpu: '100m', memory: '96Mi' } },
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 65532,
        runAsGroup: 65532,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      },
    });
  });

  it('passes the annotations on to the agent: timings as given, routing, port, resources, pull policy', () => {
    const { doc } = inject(
      deploymentPod((p) => {
        Object.assign(p.metadata.annotations, {
          [A.leaseDuration]: '1m30s',
          [A.renewDeadline]: '1m',
          [A.retryPeriod]: '1.5s',
          [A.agentPort]: '9090',
          [A.agentCpuRequest]: '20m',
          [A.agentMemoryLimit]: '128Mi',
          [A.agentImagePullPolicy]: 'Never',
        });
      }),
      { ...CTX, config: { ...CONFIG, imagePullPolicy: 'Always' } },
    );
    const c = agentOf(doc);
    expect(envOf(c)).toMatchObject({
      LEASE_DURATION: '1m30s',
      RENEW_DEADLINE: '1m',
      RETRY_PERIOD: '1.5s',
      AGENT_PORT: '9090',
    });
    expect(c.ports).toEqual([{ name: 'le-agent', containerPort: 9090, protocol: 'TCP' }]);
    expect(c.resources).toEqual({
      requests: { cpu: '20m', memory: '48Mi' },
      limits: { cpu: '100m', memory: '128Mi' },
    });
    expect(c.imagePullPolicy).toBe('Never');
  });

  it('uses the webhook’s pull policy and agent name when the pod does not override them', () => {
    const config: WebhookConfig = { agentImage: IMAGE, agentName: 'le', imagePullPolicy: 'IfNotPresent' };
    const { patch } = expectPatch(injectPod(deploymentPod(), { ...CTX, config }));
    const doc = apply(deploymentPod(), patch);
    expect(doc.spec.initContainers[0]).toMatchObject({ name: 'le', imagePullPolicy: 'IfNotPresent' });
    expect(expectSkip(injectPod(doc, { ...CTX, config }))).toContain('already injected');
  });

  it('appends to empty arrays', () => {
    const { doc, patch } = inject(
      deploymentPod((p) => {
        p.spec.initContainers = [];
        p.spec.readinessGates = [];
      }),
    );
    expect(patch.map((op) => op.path).slice(0, 2)).toEqual([
      '/spec/initContainers/-',
      '/spec/readinessGates/-',
    ]);
    expect(doc.spec.initContainers.map((c: Raw) => c.name)).toEqual([AGENT]);
    expect(doc.spec.readinessGates).toEqual([GATE]);
  });

  it('treats null arrays as absent', () => {
    const { doc } = inject(
      deploymentPod((p) => {
        p.spec.initContainers = null;
        p.spec.readinessGates = null;
      }),
    );
    expect(doc.spec.initContainers.map((c: Raw) => c.name)).toEqual([AGENT]);
    expect(doc.spec.readinessGates).toEqual([GATE]);
  });

  it('appends after existing init containers and native sidecars, leaving them untouched', () => {
    const migrate = { name: 'migrate', image: 'migrate:1', command: ['migrate', 'up'] };
    const proxy = { name: 'proxy', image: 'proxy:1', restartPolicy: 'Always', futureField: { x: 1 } };
    const { doc } = inject(deploymentPod((p) => (p.spec.initContainers = [migrate, proxy])));
    expect(doc.spec.initContainers.map((c: Raw) => c.name)).toEqual(['migrate', 'proxy', AGENT]);
    expect(doc.spec.initContainers[0]).toEqual(migrate);
    expect(doc.spec.initContainers[1]).toEqual(proxy);
    expect(doc.spec.initContainers[2].restartPolicy).toBe('Always');
  });

  it('appends to existing readiness gates, and never duplicates ours', () => {
    const other = { conditionType: 'example.com/feature-ready' };
    const a = inject(deploymentPod((p) => (p.spec.readinessGates = [other]))).doc;
    expect(a.spec.readinessGates).toEqual([other, GATE]);

    const b = inject(deploymentPod((p) => (p.spec.readinessGates = [GATE, other])));
    expect(b.patch.some((op) => op.path.startsWith('/spec/readinessGates'))).toBe(false);
    expect(b.doc.spec.readinessGates).toEqual([GATE, other]);
  });

  it('creates the annotations map when absent (namespace opt-in)', () => {
    const pod = deploymentPod((p) => delete p.metadata.annotations);
    expect(expectSkip(injectPod(pod, CTX))).toContain('not opted in');
    const { doc, patch } = inject(pod, { ...CTX, namespaceOptIn: true });
    expect(patch).toContainEqual({
      op: 'add',
      path: '/metadata/annotations',
      value: { [A.leaseName]: 'web', [A.status]: 'injected' },
    });
    expect(doc.metadata.annotations).toEqual({ [A.leaseName]: 'web', [A.status]: 'injected' });
  });

  it('creates the annotations map when it is null', () => {
    const { doc } = inject(
      deploymentPod((p) => (p.metadata.annotations = null)),
      { ...CTX, namespaceOptIn: true },
    );
    expect(doc.metadata.annotations).toEqual({ [A.leaseName]: 'web', [A.status]: 'injected' });
  });

  it('escapes annotation keys and keeps fields it does not know', () => {
    const pod = deploymentPod((p) => {
      p.metadata.annotations['x/y~z'] = 'keep~/me';
      p.metadata.annotations['~'] = '';
      p.metadata.someFutureMeta = { a: [1, 2] };
      p.spec.someFutureField = { nested: { list: [{ k: 'v' }] } };
      p.spec.containers[0].someFutureContainerField = true;
      p.spec.resourceClaims = [{ name: 'gpu', resourceClaimTemplateName: 'gpu' }];
      p.status = { phase: 'Pending' };
    });
    const { doc, patch } = inject(pod);
    expect(patch.filter((op) => op.path.startsWith('/metadata/annotations')).map((op) => op.path)).toEqual([
      '/metadata/annotations/leader-election~1lease-name',
      '/metadata/annotations/leader-election~1status',
    ]);
    expect(doc.metadata.annotations).toEqual({
      ...pod.metadata.annotations,
      [A.leaseName]: 'web',
      [A.status]: 'injected',
    });
    expect(doc.metadata.someFutureMeta).toEqual(pod.metadata.someFutureMeta);
    expect(doc.spec.someFutureField).toEqual(pod.spec.someFutureField);
    expect(doc.spec.containers).toEqual(pod.spec.containers);
    expect(doc.spec.resourceClaims).toEqual(pod.spec.resourceClaims);
    expect(doc.status).toEqual({ phase: 'Pending' });
  });

  it('runs the agent as a regular container in container mode', () => {
    const { doc } = inject(deploymentPod((p) => (p.metadata.annotations[A.agentMode] = 'container')));
    expect(doc.spec.initContainers).toBeUndefined();
    expect(doc.spec.containers.map((c: Raw) => c.name)).toEqual(['app', AGENT]);
    expect(doc.spec.containers[1].restartPolicy).toBeUndefined();
    expect(doc.spec.readinessGates).toEqual([GATE]);
  });

  it('labels the pod a follower and adds no gate with label routing', () => {
    const { doc, patch, warnings } = inject(
      deploymentPod((p) => (p.metadata.annotations[A.routing] = 'label')),
    );
    expect(patch.map((op) => op.path)).toContain('/metadata/labels/leader-election~1role');
    expect(doc.metadata.labels).toEqual({
      app: 'web',
      'pod-template-hash': '7d9f8b6c5d',
      [LABEL_INJECTED]: 'true',
      [LABEL_ROLE]: 'follower',
    });
    expect(doc.spec.readinessGates).toBeUndefined();
    expect(envOf(agentOf(doc)).ROUTING).toBe('label');
    expect(warnings).toEqual([]);
  });

  it('creates the labels map with label routing when absent', () => {
    const { doc } = inject(
      deploymentPod((p) => {
        delete p.metadata.labels;
        delete p.metadata.ownerReferences;
        p.metadata.annotations[A.routing] = 'label';
        p.metadata.annotations[A.leaseName] = 'solo';
      }),
    );
    expect(doc.metadata.labels).toEqual({ [LABEL_INJECTED]: 'true', [LABEL_ROLE]: 'follower' });
  });

  it('replaces a role label set by the template, with a warning', () => {
    const { doc, warnings } = inject(
      deploymentPod((p) => {
        p.metadata.annotations[A.routing] = 'label';
        p.metadata.labels[LABEL_ROLE] = 'leader';
      }),
    );
    expect(doc.metadata.labels[LABEL_ROLE]).toBe('follower');
    expect(warnings).toEqual([expect.stringContaining(`${LABEL_ROLE}=leader is replaced by follower`)]);
  });

  it('warns about hostNetwork', () => {
    const { warnings } = inject(deploymentPod((p) => (p.spec.hostNetwork = true)));
    expect(warnings).toEqual([expect.stringContaining('hostNetwork')]);
  });
});

describe('injectPod: opt-in and idempotency', () => {
  it('skips a pod that is not opted in', () => {
    const pod = deploymentPod((p) => delete p.metadata.annotations[A.enabled]);
    expect(expectSkip(injectPod(pod, CTX))).toContain('not opted in');
  });

  it('skips a pod that opts out of a namespace-wide opt-in', () => {
    const pod = deploymentPod((p) => (p.metadata.annotations[A.enabled] = 'false'));
    expect(expectSkip(injectPod(pod, { ...CTX, namespaceOptIn: true }))).toContain('not opted in');
  });

  it('skips an already injected pod (no patch)', () => {
    const once = inject(deploymentPod()).doc;
    const r = injectPod(once, CTX);
    expect(r).toEqual({ kind: 'skip', reason: 'pod shop/web-7d9f8b6c5d-* is already injected' });
  });

  it('denies the marker without the agent container', () => {
    const pod = deploymentPod((p) => (p.metadata.annotations[A.status] = 'injected'));
    expect(expectDeny(injectPod(pod, CTX))).toContain(`carries ${A.status}: injected but has no container`);
  });

  it('overwrites a marker with another value', () => {
    const { doc } = inject(deploymentPod((p) => (p.metadata.annotations[A.status] = 'pending')));
    expect(doc.metadata.annotations[A.status]).toBe('injected');
  });

  it.each(['containers', 'initContainers'])(
    'denies a pod that already has a %s entry named like the agent',
    (where) => {
      const pod = deploymentPod(
        (p) => (p.spec[where] = [...(p.spec[where] ?? []), { name: AGENT, image: 'x' }]),
      );
      expect(expectDeny(injectPod(pod, CTX))).toContain(`already has a container named "${AGENT}"`);
    },
  );

  it('checks the conflict against the configured agent name', () => {
    const pod = deploymentPod((p) => p.spec.containers.push({ name: 'sidecar-le', image: 'x' }));
    expect(expectDeny(injectPod(pod, { ...CTX, config: { ...CONFIG, agentName: 'sidecar-le' } }))).toContain(
      'sidecar-le',
    );
    inject(pod);
  });
});

describe('injectPod: denials', () => {
  // [annotation key, value, a fragment of the rule]
  const INVALID: [string, string, string][] = [
    [A.enabled, 'yes', 'must be "true" or "false"'],
    [A.leaseName, 'Web_App', 'DNS-1123 subdomain'],
    [A.leaseDuration, '15', 'is not a Go duration'],
    [A.leaseDuration, '-15s', 'must not be negative'],
    [A.renewDeadline, '20s', 'must be less than leader-election/lease-duration ("15s", the default)'],
    [A.retryPeriod, '500ms', 'must be at least 1s'],
    [A.retryPeriod, '9s', '1.2 × retry-period (10.8s) must be less than'],
    [A.routing, 'dns', 'must be one of readiness-gate, label'],
    [A.agentMode, 'daemonset', 'must be one of sidecar, container'],
    [A.agentCpuRequest, '10 m', 'is not a Kubernetes quantity'],
    [A.agentCpuLimit, '8', 'between 1m and 4'],
    [A.agentMemoryRequest, '512Mi', 'must not exceed leader-election/agent-memory-limit'],
    [A.agentMemoryLimit, '4Gi', 'between 16Mi and 1Gi'],
    [A.agentPort, '443', 'between 1024 and 65535'],
    [A.agentImagePullPolicy, 'sometimes', 'must be one of Always, IfNotPresent, Never'],
    ['leader-election/leaseName', 'web', 'unknown annotation key'],
  ];

  it.each(INVALID)('denies %s: %j naming key, value and rule', (key, value, rule) => {
    const pod = deploymentPod((p) => (p.metadata.annotations[key] = value));
    const message = expectDeny(injectPod(pod, CTX));
    expect(message).toContain(`${key}: ${JSON.stringify(value)}`);
    expect(message).toContain(rule);
  });

  it('lists every problem in one message', () => {
    const pod = deploymentPod((p) => {
      p.metadata.annotations[A.routing] = 'x';
      p.metadata.annotations[A.agentPort] = '1';
      p.spec.volumes = [{ name: 'leader-election-agent-token', emptyDir: {} }];
    });
    const message = expectDeny(injectPod(pod, CTX));
    expect(message).toMatch(
      /^3 problems: \(1\) leader-election\/routing: "x".*; \(2\) leader-election\/agent-port: "1".*; \(3\) the pod already has a volume named "leader-election-agent-token"/,
    );
  });

  // Issue 14: a pod (or its ServiceAccount) with automountServiceAccountToken false left the agent
  // without a token; the pod's field was refused, the ServiceAccount's the webhook cannot see.
  it('gives the agent its own projected token, whatever automountServiceAccountToken says', () => {
    for (const automount of [false, true, undefined]) {
      const { doc } = inject(deploymentPod((p) => (p.spec.automountServiceAccountToken = automount)));
      const volume = doc.spec.volumes.find((v: Raw) => v.name === 'leader-election-agent-token');
      expect(volume.projected.sources.map((s: Raw) => Object.keys(s)[0])).toEqual([
        'serviceAccountToken',
        'configMap',
        'downwardAPI',
      ]);
      expect(agentOf(doc).volumeMounts).toEqual([
        {
          name: 'leader-election-agent-token',
          mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
          readOnly: true,
        },
      ]);
      // The app containers are left to the pod's own setting.
      expect(doc.spec.containers[0].volumeMounts).toBeUndefined();
    }
  });

  // Issue 14: the API server refused these with messages about the agent the user never wrote,
  // or (a Job in container mode) the pod could never complete.
  it('denies, in the product’s words, pods the injection cannot work in', () => {
    const windows = deploymentPod((p) => (p.spec.os = { name: 'windows' }));
    expect(expectDeny(injectPod(windows, CTX))).toContain(
      'spec.os.name is "windows": the agent is a Linux container',
    );
    expect(inject(deploymentPod((p) => (p.spec.os = { name: 'linux' }))).doc.spec.os).toEqual({
      name: 'linux',
    });

    const job = deploymentPod((p) => {
      p.spec.restartPolicy = 'Never';
      p.metadata.annotations[A.agentMode] = 'container';
    });
    expect(expectDeny(injectPod(job, CTX))).toContain(
      'leader-election/agent-mode: "container" with restartPolicy Never (a Job\'s pod?)',
    );
    // The default sidecar mode works in a Job: the kubelet stops a native sidecar when the app is done.
    inject(deploymentPod((p) => (p.spec.restartPolicy = 'OnFailure')));

    const big = deploymentPod(
      (p) => (p.metadata.annotations['example.com/blob'] = 'x'.repeat(256 * 1024 - 200)),
    );
    expect(expectDeny(injectPod(big, CTX))).toMatch(
      /would pass the API server's limit of 262144 bytes; make room$/,
    );
  });

  // Issue 14: pod-level spec.resources must cover the containers' aggregate, the agent included;
  // the API server's refusal named the aggregate only ("must be greater than or equal to aggregate
  // container requests of 176Mi"), not the agent that tipped it over.
  it('denies pod-level requests that leave no room for the agent, naming the value that fits', () => {
    const withPodResources = (resources: object, mutate?: (p: ReturnType<typeof deploymentPod>) => void) =>
      deploymentPod((p) => {
        p.spec.containers[0].resources = { requests: { cpu: '250m', memory: '128Mi' } };
        p.spec.resources = resources;
        mutate?.(p);
      });
    const tight = withPodResources({ requests: { cpu: '250m', memory: '128Mi' } });
    const messages = expectDeny(injectPod(tight, CTX));
    expect(messages).toContain(
      'pod-level spec.resources.requests.cpu is 250m, but with the leader-election agent (requests cpu 10m) the ' +
        "containers request 260m: raise it to at least 260m, or lower the agent's with leader-election/agent-cpu-request",
    );
    expect(messages).toContain(
      'pod-level spec.resources.requests.memory is 128Mi, but with the leader-election agent (requests memory 48Mi) ' +
        "the containers request 176Mi: raise it to at least 176Mi, or lower the agent's with leader-election/agent-memory-request",
    );
    // Exactly enough room, an unset resource, or only limits (a sidecar's limits are not checked): admitted.
    inject(withPodResources({ requests: { cpu: '260m', memory: '176Mi' } }));
    inject(withPodResources({ requests: { memory: '1Gi' } }));
    inject(withPodResources({ limits: { cpu: '50m', memory: '64Mi' } }));
    // Sums of millicores stay exact (0.1 + 0.2 is not above 0.3 here).
    inject(
      withPodResources({ requests: { cpu: '0.3' } }, (p) => {
        p.spec.containers[0].resources = { requests: { cpu: '0.1' } };
        p.metadata.annotations[A.agentCpuRequest] = '0.2';
        p.metadata.annotations[A.agentCpuLimit] = '0.2';
      }),
    );
    // An ordinary init container larger than everything else sets the floor, as in the API server.
    inject(
      withPodResources({ requests: { memory: '1Gi' } }, (p) => {
        p.spec.initContainers = [{ name: 'migrate', image: 'm', resources: { requests: { memory: '1Gi' } } }];
      }),
    );
    // In container mode the agent is a regular container: its limits must fit the pod's.
    const container = withPodResources(
      { limits: { memory: '64Mi' } },
      (p) => (p.metadata.annotations[A.agentMode] = 'container'),
    );
    expect(expectDeny(injectPod(container, CTX))).toContain(
      "pod-level spec.resources.limits.memory is 64Mi, below the leader-election agent's limit (96Mi): raise it, " +
        "or lower the agent's with leader-election/agent-memory-limit",
    );
  });

  it('denies a port already declared by another container', () => {
    const pod = deploymentPod((p) => p.spec.containers[0].ports.push({ containerPort: 4040 }));
    expect(expectDeny(injectPod(pod, CTX))).toContain(
      'leader-election/agent-port: port 4040 (the default) is already declared by container "app"',
    );
    const moved = deploymentPod((p) => {
      p.spec.containers[0].ports.push({ containerPort: 4040 });
      p.metadata.annotations[A.agentPort] = '4041';
    });
    expect(agentOf(inject(moved).doc).ports[0].containerPort).toBe(4041);
    // Issue 14: the same number over UDP is another socket, and was refused.
    const udp = deploymentPod((p) =>
      p.spec.containers[0].ports.push({ containerPort: 4040, protocol: 'UDP' }),
    );
    expect(agentOf(inject(udp).doc).ports[0].containerPort).toBe(4040);
    const tcp = deploymentPod((p) =>
      p.spec.containers[0].ports.push({ containerPort: 4040, protocol: 'TCP' }),
    );
    expect(expectDeny(injectPod(tcp, CTX))).toContain('port 4040 (the default) is already declared');
  });

  it.each([
    ['not an object', 'pod'],
    ['an array', []],
    ['no metadata', { spec: { containers: [] } }],
    ['no spec', { metadata: { annotations: { [A.enabled]: 'true' } } }],
    ['initContainers not an array', deploymentPod((p) => (p.spec.initContainers = { a: 1 }))],
    ['annotations not an object', { metadata: { annotations: 'x' }, spec: {} }],
  ])('denies a malformed pod (%s)', (_what, pod) => {
    expect(expectDeny(injectPod(pod, CTX))).toMatch(/^malformed pod/);
  });
});

describe('injectPod: the Lease name', () => {
  function owned(kind: string, name: string, mutate?: (p: Raw) => void): Raw {
    return deploymentPod((p) => {
      p.metadata.ownerReferences = [{ apiVersion: 'apps/v1', kind, name, uid: 'u', controller: true }];
      mutate?.(p);
    });
  }
  const leaseOf = (pod: Raw) => envOf(agentOf(inject(pod).doc)).LEASE_NAME;

  it('strips the pod-template-hash from a ReplicaSet owner to get the Deployment name', () => {
    expect(leaseOf(owned('ReplicaSet', 'web-7d9f8b6c5d'))).toBe('web');
    expect(
      leaseOf(
        owned('ReplicaSet', 'my-web-app-5f4d', (p) => (p.metadata.labels['pod-template-hash'] = '5f4d')),
      ),
    ).toBe('my-web-app');
  });

  it('strips the hash of an Argo Rollouts ReplicaSet', () => {
    const pod = owned('ReplicaSet', 'canary-6b8f9c', (p) => {
      delete p.metadata.labels['pod-template-hash'];
      p.metadata.labels['rollouts-pod-template-hash'] = '6b8f9c';
    });
    expect(leaseOf(pod)).toBe('canary');
  });

  it('uses the ReplicaSet name, with a warning, when it does not end with the hash', () => {
    const { doc, warnings } = inject(owned('ReplicaSet', 'web-abc'));
    expect(envOf(agentOf(doc)).LEASE_NAME).toBe('web-abc');
    expect(warnings).toEqual([expect.stringContaining(`set ${A.leaseName}`)]);
  });

  it('uses a bare ReplicaSet’s name (no pod-template-hash) without a warning', () => {
    const { doc, warnings } = inject(
      owned('ReplicaSet', 'rs-1', (p) => delete p.metadata.labels['pod-template-hash']),
    );
    expect(envOf(agentOf(doc)).LEASE_NAME).toBe('rs-1');
    expect(warnings).toEqual([]);
  });

  it('does not strip when the name is only the hash', () => {
    expect(
      leaseOf(
        owned(
          'ReplicaSet',
          '-7d9f8b6c5d'.slice(1),
          (p) => (p.metadata.labels['pod-template-hash'] = '7d9f8b6c5d'),
        ),
      ),
    ).toBe('7d9f8b6c5d');
  });

  it.each([
    ['StatefulSet', 'db'],
    ['DaemonSet', 'node-agent'],
    ['Job', 'nightly-29012345'],
    ['Rollout', 'canary-app'],
  ])('uses the %s owner’s name', (kind, name) => {
    expect(leaseOf(owned(kind, name))).toBe(name);
  });

  it('prefers the annotation to the owner', () => {
    expect(
      leaseOf(owned('StatefulSet', 'db', (p) => (p.metadata.annotations[A.leaseName] = 'db-primary'))),
    ).toBe('db-primary');
  });

  it('denies a pod without an owner or annotation, saying what to set', () => {
    const pod = deploymentPod((p) => {
      delete p.metadata.ownerReferences;
      p.metadata.name = 'bare';
    });
    expect(injectPod(pod, CTX)).toEqual({
      kind: 'deny',
      message: 'pod has no owner to derive a Lease name from; set the annotation leader-election/lease-name',
    });
  });

  it('ignores owners that are not the controller', () => {
    const pod = deploymentPod((p) => (p.metadata.ownerReferences[0].controller = false));
    expect(expectDeny(injectPod(pod, CTX))).toContain('pod has no owner');
  });

  it('injects a bare pod that names its Lease', () => {
    const pod = deploymentPod((p) => {
      delete p.metadata.ownerReferences;
      delete p.metadata.generateName;
      p.metadata.name = 'bare';
      p.metadata.annotations[A.leaseName] = 'bare-lease';
    });
    expect(leaseOf(pod)).toBe('bare-lease');
  });

  it("warns a bare pod's creator about timings that leave the kubelet too little time to fence", () => {
    const bare = (lease: string, renew: string) =>
      deploymentPod((p) => {
        delete p.metadata.ownerReferences;
        p.metadata.name = 'bare';
        Object.assign(p.metadata.annotations, {
          [A.leaseName]: 'bare-lease',
          [A.leaseDuration]: lease,
          [A.renewDeadline]: renew,
          [A.retryPeriod]: '1s',
        });
      });
    expect(expectPatch(injectPod(bare('4s', '3s'), CTX)).warnings).toEqual([
      expect.stringContaining('lease-duration − leader-election/renew-deadline is 1s'),
    ]);
    expect(expectPatch(injectPod(bare('6s', '3s'), CTX)).warnings).toEqual([]);
  });

  it('denies a derived name that is not a valid Lease name', () => {
    const pod = owned('Widget', 'Not_Valid');
    expect(expectDeny(injectPod(pod, CTX))).toContain('"Not_Valid", is not a DNS-1123 subdomain');
  });
});

// ---------------------------------------------------------------------------
