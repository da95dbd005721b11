// Faults done the real way, inside the node that runs a pod: the container found with
// crictl and its process SIGKILLed, the whole pod frozen with the cgroup v1 freezer, the
// pod cut off from the API server by nftables rules in its own network namespace. For
// kind the node is a container named after the node (`<cluster>-control-plane`), and
// `nodeExec` (cluster-ops.ts: docker or podman exec) is the only part that knows it.
import type { KubeClient } from '../../common/kube/kube-client.ts';
import { apiserverReady, nodeExec } from './cluster-ops.ts';
import type { Raw } from './elected-group.ts';

/** Runs a shell script in the node (kind: the node container of that name); its stdout. */
export function inNode(node: string, script: string): Promise<string> {
  return nodeExec(node, ['sh', '-c', script], 30_000);
}

/** A single-quoted shell word. */
const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** What the faults need to know about a pod: where it runs and how the CRI labels it. */
export interface NodePod {
  namespace: string;
  name: string;
  uid: string;
  node: string;
}

export function nodePod(pod: Raw): NodePod {
  const node = pod.spec?.nodeName;
  if (!node) throw new Error(`pod ${pod.metadata?.name} is not on a node yet`);
  return { namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid, node };
}

/** The node's PID of a running container of the pod (crictl, by the kubelet's labels). */
export async function containerPid(pod: NodePod, container: string): Promise<number> {
  const out = await inNode(
    pod.node,
    `id=$(crictl ps -q --state running --label io.kubernetes.pod.uid=${q(pod.uid)} ` +
      `--label io.kubernetes.container.name=${q(container)})
     [ "$(echo "$id" | grep -c .)" = 1 ] || { echo "running containers: [$id]" >&2; exit 1; }
     crictl inspect -o go-template --template '{{.info.pid}}' "$id"`,
  );
  const pid = Number(out.trim());
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`no pid for ${pod.name}/${container}: ${out}`);
  return pid;
}

/**
 * SIGKILLs the main process of a container of the pod, as the kernel's OOM killer would;
 * returns the node's wall time (ms) right after the kill.
 */
export async function killContainer(pod: NodePod, container: string): Promise<number> {
  return signalContainer(pod, container, 'KILL');
}

/** Sends a signal to a container's main process (STOP/CONT: a paused process); the node's time after it. */
export async function signalContainer(
  pod: NodePod,
  container: string,
  signal: 'KILL' | 'STOP' | 'CONT' | 'TERM',
): Promise<number> {
  const pid = await containerPid(pod, container);
  return Number((await inNode(pod.node, `kill -${signal} ${pid} && date +%s%3N`)).trim());
}

/**
 * SIGSTOPs a container's main process, waits in the node until the wall clock's second has
 * changed, then SIGKILLs it; returns the node's wall time (ms) of the SIGSTOP. The process
 * can write nothing after the stop, and the kubelet's finishedAt (whole seconds) then falls
 * in a later second than anything it wrote: the case kubelet attestation can prove
 * (agent/attestation.ts). One exec, so the exec's own latency plays no part.
 */
export async function pauseThenKill(pod: NodePod, container: string): Promise<number> {
  const pid = await containerPid(pod, container);
  const out = await inNode(
    pod.node,
    `kill -STOP ${pid}; t=$(date +%s%3N); s=$(date +%s)
     while [ "$(date +%s)" -le "$s" ]; do sleep 0.02; done
     kill -KILL ${pid}; echo "$t"`,
  );
  return Number(out.trim());
}

/** The pod's freezer cgroup (v1) in the node: the kubelet's pod cgroup, either driver's spelling of the UID. */
async function freezerDir(pod: NodePod): Promise<string> {
  const uid = pod.uid.replaceAll('-', '_');
  const out = await inNode(
    pod.node,
    `find /sys/fs/cgroup/freezer -type d -path '*kubepods*' ` +
      `\\( -name ${q(`*pod${pod.uid}*`)} -o -name ${q(`*pod${uid}*`)} \\) -prune`,
  );
  const dirs = out.split('\n').filter(Boolean);
  if (dirs.length !== 1) throw new Error(`freezer cgroup of ${pod.name} (${pod.uid}): [${dirs.join(', ')}]`);
  return dirs[0]!;
}

async function setFreezer(pod: NodePod, state: 'FROZEN' | 'THAWED'): Promise<void> {
  const dir = q(await freezerDir(pod));
  // FREEZING until every task stopped: wait for the state asked.
  await inNode(
    pod.node,
    `echo ${state} > ${dir}/freezer.state
     for i in $(seq 100); do [ "$(cat ${dir}/freezer.state)" = ${state} ] && exit 0; sleep 0.05; done
     echo "freezer.state: $(cat ${dir}/freezer.state)" >&2; exit 1`,
  );
}

/** Freezes every process of the pod (all containers and the sandbox), like a stalled VM. */
export const freezePod = (pod: NodePod) => setFreezer(pod, 'FROZEN');
export const thawPod = (pod: NodePod) => setFreezer(pod, 'THAWED');

/** Where pods reach the API server: the `kubernetes` Service, and its endpoints (what kube-proxy DNATs to). */
export async function apiServerAddresses(client: KubeClient): Promise<{ ip: string; port: number }[]> {
  const svc = await client.get<Raw>('/api/v1/namespaces/default/services/kubernetes');
  const slices = await client.get<Raw>('/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', {
    query: { labelSelector: 'kubernetes.io/service-name=kubernetes' },
  });
  const out: { ip: string; port: number }[] = svc.spec.ports.map((p: Raw) => ({
    ip: svc.spec.clusterIP,
    port: p.port,
  }));
  for (const s of slices.items) {
    for (const e of s.endpoints ?? []) {
      for (const ip of e.addresses) for (const p of s.ports ?? []) out.push({ ip, port: p.port });
    }
  }
  return out;
}

const CUT_TABLE = 'le_e2e_cutoff';

/** Runs a script in the pod's network namespace (entered through its sandbox's process). */
async function inPodNetns(pod: NodePod, script: string): Promise<string> {
  return inNode(
    pod.node,
    `id=$(crictl pods -q --state ready --label io.kubernetes.pod.uid=${q(pod.uid)})
     [ "$(echo "$id" | grep -c .)" = 1 ] || { echo "ready sandboxes: [$id]" >&2; exit 1; }
     pid=$(crictl inspectp -o go-template --template '{{.info.pid}}' "$id")
     nsenter -t "$pid" -n sh -c ${q(script)}`,
  );
}

/**
 * Cuts the pod off from the API server only, like a lost link: its packets to the API
 * server (the Service's ClusterIP before kube-proxy's DNAT, the endpoints after it) and
 * the API server's packets to it are dropped in the pod's own network namespace.
 * Everything else still flows: the kubelet's probes from the node, Service traffic.
 */
export async function cutOffApiServer(
  pod: NodePod,
  to: { ip: string; port: number }[],
  opts: { answersOnly?: boolean } = {},
): Promise<void> {
  // answersOnly: only the API server's packets to the pod are dropped. A request sent on a
  // connection already open reaches the API server and is applied, and its answer is lost
  // (a write whose outcome the agent cannot know); new connections cannot open (no SYN-ACK).
  const rules = (dir: 'out' | 'in') =>
    dir === 'out' && opts.answersOnly
      ? 'accept'
      : to
          .map(({ ip, port }) =>
            dir === 'out' ? `ip daddr ${ip} tcp dport ${port} drop` : `ip saddr ${ip} tcp sport ${port} drop`,
          )
          .join('; ');
  await inPodNetns(
    pod,
    `nft -f - <<EOF
table inet ${CUT_TABLE} {
  chain out { type filter hook output priority 0; policy accept; ${rules('out')}; }
  chain in { type filter hook input priority 0; policy accept; ${rules('in')}; }
}
EOF`,
  );
}

/** Removes the cut (nothing to do when there is none, or when the pod is gone). */
export async function healApiServer(pod: NodePod): Promise<void> {
  await inPodNetns(
    pod,
    `nft list table inet ${CUT_TABLE} >/dev/null 2>&1 || exit 0; nft delete table inet ${CUT_TABLE}`,
  );
}

/**
 * Takes kube-apiserver away for `ms`, the way a stalled control-plane VM would: its static pod is
 * frozen (cgroup freezer; requests hang, nothing is refused), then thawed, and it answers at once
 * (a restart would take the kubelet's file-source poll, 20 s, and may restart the controllers).
 * Keep `ms` under kube-controller-manager's renew deadline (10 s) to keep the controllers.
 * Resolves once /readyz answers again, with the time the API was unavailable.
 */
export async function freezeApiserverFor(
  client: KubeClient,
  node: string,
  ms: number,
): Promise<{ downMs: number }> {
  const mirror = await client.get<Raw>(`/api/v1/namespaces/kube-system/pods/kube-apiserver-${node}`);
  // The kubelet's cgroups use the static pod's UID, the config hash, not the mirror pod's UID.
  const uid = mirror.metadata.annotations?.['kubernetes.io/config.hash'] ?? mirror.metadata.uid;
  const pod = { namespace: 'kube-system', name: mirror.metadata.name, uid, node };
  const t0 = Date.now();
  await freezePod(pod);
  try {
    await new Promise((r) => setTimeout(r, ms));
  } finally {
    await thawPod(pod);
  }
  await apiserverReady(client);
  return { downMs: Date.now() - t0 };
}

/**
 * Stalls a node's kubelet (SIGSTOP: the node, its runtime and its pods run on, but nothing
 * reports their status), or lets it go on (SIGCONT). Its pods' Ready stays whatever it was.
 */
export async function stallKubelet(node: string, stalled: boolean): Promise<void> {
  await inNode(node, `pkill -${stalled ? 'STOP' : 'CONT'} -x kubelet`);
}
