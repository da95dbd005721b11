// Requests from the host to a Service's ClusterIP, through the node's kube-proxy, as a client
// outside the cluster would send them: a host route for that one ClusterIP (/32) via the kind
// node's address, so the packets enter the node, where kube-proxy's rules DNAT them to the
// ready endpoint (and masquerade them, the source being outside the cluster, so the answer
// returns through the node). The route is removed by stop(), and goes with the node's
// network at kind-down anyway. Needs root (ip route) and a node address the host can reach
// (Linux with docker or podman: the node is a container on a bridge).
import { request, type ClientRequest } from 'node:http';
import { run } from '../run.ts';
import type { Answer } from './elected-group.ts';

export class HostTraffic {
  readonly answers: Answer[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<ClientRequest>();
  private readonly route: string[];
  private readonly clusterIP: string;
  private readonly intervalMs: number;
  private readonly timeoutMs: number;

  /** `clusterIP`: the Service's; `nodeIP`: the node's InternalIP, reachable from the host. */
  constructor(clusterIP: string, nodeIP: string, intervalMs = 50, timeoutMs = 500) {
    this.clusterIP = clusterIP;
    this.intervalMs = intervalMs;
    this.timeoutMs = timeoutMs;
    this.route = [`${clusterIP}/32`, 'via', nodeIP];
  }

  /** Adds the route and starts requesting; throws with the reason when the route cannot be added. */
  async start(): Promise<void> {
    const res = await run('ip', ['route', 'replace', ...this.route]);
    if (res.code !== 0) throw new Error(`ip route replace ${this.route.join(' ')}: ${res.stderr.trim()}`);
    this.timer = setInterval(() => this.once(), this.intervalMs);
  }

  private once(): void {
    const t = Date.now();
    // A new connection per request (agent: false), like the in-cluster client: kube-proxy picks an
    // endpoint per connection, and no kept-alive socket outlives stop().
    const req = request(
      { host: this.clusterIP, port: 80, path: '/', agent: false, timeout: this.timeoutMs },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => this.answers.push({ t, pod: body.trim() }));
      },
    );
    this.inFlight.add(req);
    req.on('close', () => this.inFlight.delete(req));
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => this.answers.push({ t, err: err.message }));
    req.end();
  }

  /** The answers since `since`, in the order the requests were sent. */
  since(since: number): Answer[] {
    return this.answers.filter((a) => a.t >= since).sort((a, b) => a.t - b.t);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    // Nothing may outlive stop(): a request caught by the route's removal could hang its socket.
    for (const req of this.inFlight) req.destroy();
    await run('ip', ['route', 'del', ...this.route]);
  }
}
