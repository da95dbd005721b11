// The traffic checker behaves like kube-proxy: it watches a Service's
// EndpointSlices and sends a steady stream of requests to the ready endpoints
// (through the pod runner's map from pod IP to loopback address), recording who
// answered and when.
import { request } from 'node:http';
import type { KubeClient } from '../../common/kube/kube-client.ts';
import { listWatch } from '../../common/kube/list-watch.ts';
import type { PodRunner } from '../node/pod-runner.ts';

interface EndpointSlice {
  metadata?: { name?: string; resourceVersion?: string };
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[];
  ports?: { port?: number }[];
}

export interface Answer {
  sent: number;
  received: number;
  /** The pod name the app answered with, or an error. */
  pod?: string;
  error?: string;
}

export class TrafficChecker {
  readonly answers: Answer[] = [];
  private readonly abort = new AbortController();
  private readonly slices = new Map<string, EndpointSlice>();
  private readonly client: KubeClient;
  private readonly runner: PodRunner;
  private readonly namespace: string;
  private readonly service: string;
  private readonly intervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private next = 0;

  constructor(opts: {
    client: KubeClient;
    runner: PodRunner;
    namespace: string;
    service: string;
    intervalMs?: number;
  }) {
    this.client = opts.client;
    this.runner = opts.runner;
    this.namespace = opts.namespace;
    this.service = opts.service;
    this.intervalMs = opts.intervalMs ?? 20;
  }

  start(): void {
    // Runs until stop() aborts it; listWatch never rejects (errors are retried).
    void listWatch<EndpointSlice>(
      this.client,
      `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(this.namespace)}/endpointslices`,
      {
        onList: (items) => {
          this.slices.clear();
          for (const s of items) this.slices.set(s.metadata?.name ?? '', s);
        },
        onEvent: (type, s) => {
          if (type === 'DELETED') this.slices.delete(s.metadata?.name ?? '');
          else this.slices.set(s.metadata?.name ?? '', s);
        },
      },
      this.abort.signal,
      { query: { labelSelector: `kubernetes.io/service-name=${this.service}` }, watchdogMs: 30_000 },
    );
    this.timer = setInterval(() => this.send(), this.intervalMs);
  }

  stop(): void {
    this.abort.abort();
    clearInterval(this.timer);
  }

  private send(): void {
    const targets: { ip: string; port: number }[] = [];
    for (const s of this.slices.values()) {
      const port = s.ports?.[0]?.port ?? 8080;
      for (const e of s.endpoints ?? [])
        if (e.conditions?.ready) for (const ip of e.addresses) targets.push({ ip, port });
    }
    const sent = Date.now();
    if (targets.length === 0) {
      this.answers.push({ sent, received: sent, error: 'no ready endpoint' });
      return;
    }
    const target = targets[this.next++ % targets.length]!;
    const pod = this.runner.runningPods().find((p) => p.podIP === target.ip);
    if (!pod) {
      this.answers.push({ sent, received: Date.now(), error: `no pod with IP ${target.ip}` });
      return;
    }
    const req = request(
      { host: pod.listenAddress, port: target.port, path: '/', timeout: 1000, agent: false },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => this.answers.push({ sent, received: Date.now(), pod: body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => this.answers.push({ sent, received: Date.now(), error: err.message }));
    req.end();
  }

  /** Pods that answered in [from, to]. */
  answeredBy(from: number, to = Date.now()): string[] {
    return [
      ...new Set(this.answers.filter((a) => a.pod && a.sent >= from && a.received <= to).map((a) => a.pod!)),
    ];
  }

  /**
   * Two pods answering as leader at once: an answer from A, then one from B,
   * then A again while B still answers (A resumed after B took over).
   */
  interleavings(from = 0): string[] {
    const seq = this.answers.filter((a) => a.pod && a.sent >= from).sort((a, b) => a.received - b.received);
    const found: string[] = [];
    const lastSeen = new Map<string, number>();
    let current: string | undefined;
    for (const a of seq) {
      if (a.pod !== current) {
        const prev = lastSeen.get(a.pod!);
        // A pod coming back while the one that replaced it answered within the last second.
        if (prev !== undefined && current && a.received - (lastSeen.get(current) ?? 0) < 1000) {
          found.push(`${a.pod} answered at ${a.received} after ${current} had taken over`);
        }
        current = a.pod;
      }
      lastSeen.set(a.pod!, a.received);
    }
    return found;
  }
}
