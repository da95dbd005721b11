// The app container of test pods: a tiny HTTP server on the pod's own loopback
// address that answers with its pod name. GET /api-check makes one API call
// through the pod's kubeconfig (its relay), so a test can see a partition.
import { createServer } from 'node:http';
import { KubeClient } from '../../common/kube/kube-client.ts';
import { loadConnection } from '../../common/kube/kubeconfig.ts';

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 8080);
const podName = process.env.POD_NAME ?? 'unknown';
const client = process.env.KUBECONFIG
  ? new KubeClient(loadConnection(), { defaultTimeoutMs: 1000 })
  : undefined;

const server = createServer((req, res) => {
  if (req.url === '/healthz') {
    res.end('ok');
    return;
  }
  if (req.url === '/api-check') {
    if (!client) {
      res.writeHead(500).end('no kubeconfig');
      return;
    }
    client.get('/version').then(
      () => res.end('reachable'),
      (err: Error) => res.writeHead(503).end(err.message),
    );
    return;
  }
  res.setHeader('content-type', 'text/plain');
  res.end(podName);
});
server.listen(port, host);
const stop = () => {
  server.close();
  client?.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
