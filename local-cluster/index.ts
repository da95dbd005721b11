// The local cluster: a library that runs Kubernetes on this machine for the tests,
// `make demo`, `make cluster-up` and `make bench`. Import it from here only; the files
// behind this index are its internals. docs/testing.md describes each part.
//
// The control plane (control-plane/): a real etcd, kube-apiserver and
// kube-controller-manager as local processes, built once from the Go modules.
//   ControlPlane.start() → server, kubeconfig, connection(), client(), logTail(), stop()
//   restartApiserverOf(plane)    restart kube-apiserver from a test worker
//   createCa / issueCert         PKI with openssl (webhook serving certificates)
//
// The node (node/): the pod runner, a stand-in for the kubelet that runs containers as
// local processes, from a map of images to commands.
//   new PodRunner({ connection: plane.connection(), images: localImages }).start() … stop()
//   AGENT_IMAGE, ECHO_IMAGE      the images the map knows (the agent bundle, the echo app)
//
// The product (product/): installed the way the tests and the demo need it.
//   LocalSetup                   the webhook as a process registered by URL, with its RBAC
//   grantAgent / grantAgentRole  the agent's RBAC in a namespace, without the webhook
//   electedPod / injectedTemplate / echoApp   pods built by the real injection
//   agentLeader / agentReadyz / gateStatus / leaseHolder   what the agents and pods say
//
// Observing (observe/): Observer (ready endpoints, holder, gates, with timestamps),
// TrafficChecker (requests to the ready endpoints, like kube-proxy), leadership intervals
// from electors' logs (overlaps).
//
// client-go (clientgo/): a client-go v0.36 elector on the same Lease, for compatibility.
//
// waitUntil / sleep: polling with a bound.
export {
  ControlPlane,
  buildBinaries,
  freePort,
  repoRoot,
  restartApiserverOf,
} from './control-plane/control-plane.ts';
export { createCa, issueCert, type CertFiles } from './control-plane/pki.ts';
export { PodRunner, type ImageMap, type RunningPod } from './node/pod-runner.ts';
export { AGENT_BUNDLE, AGENT_IMAGE, AGENT_NODE_FLAGS, ECHO_IMAGE, localImages } from './node/images.ts';
export { LocalSetup } from './product/local-setup.ts';
export { grantAgentRole } from './product/agent-rbac.ts';
export {
  agentLeader,
  agentReadyz,
  echoApp,
  electedPod,
  gateStatus,
  grantAgent,
  injectedTemplate,
  leaseHolder,
} from './product/election-pods.ts';
export { Observer } from './observe/observer.ts';
export { TrafficChecker } from './observe/traffic-checker.ts';
export { intervalsFromLog, overlaps, parseLogTime, type Interval } from './observe/leadership.ts';
export { buildClientGoElector, GoElector } from './clientgo/clientgo.ts';
export { sleep, waitUntil } from './wait.ts';
export { kubectlPath, run, type RunResult } from './run.ts';

// kind (kind/): the real cluster of the end-to-end tests, `make demo` and `make bench`,
// created by the scripts a user runs (kind-up.sh), and what runs on it.
//   kindUp(name) → KindCluster { kubeconfig, context, client(), kubectl() }; kindDown(name)
//   ElectedGroup                 an opted-in Deployment of the test app, its Service, a
//                                traffic client requesting the ClusterIP, an Observer
//   cluster ops / node faults    restart the apiserver or kubelet, SIGKILL a container,
//                                freeze a pod, cut a pod off from the API server
export {
  CACHE_DIR,
  hostState,
  KindCluster,
  kindDown,
  kindUp,
  otherKindClusters,
} from './kind/kind-cluster.ts';
export {
  AGENT_CONTAINER,
  answerAfterGap,
  APP_IMAGE,
  ElectedGroup,
  podUp,
  gaps,
  longestGap,
  oneServerAtATime,
  timeline,
  TIMINGS,
  type Answer,
  type GroupOptions,
  type Raw,
} from './kind/elected-group.ts';
export { HostTraffic } from './kind/host-traffic.ts';
export {
  containerEngine,
  nodeExec,
  restartApiserver,
  restartKubelet,
  setUnschedulable,
  theNode,
  nodeNames,
  pauseNode,
} from './kind/cluster-ops.ts';
export {
  apiServerAddresses,
  containerPid,
  freezeApiserverFor,
  cutOffApiServer,
  freezePod,
  healApiServer,
  inNode,
  killContainer,
  pauseThenKill,
  signalContainer,
  stallKubelet,
  nodePod,
  thawPod,
  type NodePod,
} from './kind/node-faults.ts';
