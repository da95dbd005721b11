// The test app of the kind end-to-end tests: an HTTP server that answers with its pod
// name, and that a test can make misbehave, by env or over HTTP:
//   GET  /                 its pod name (env POD_NAME), one line
//   GET  /healthz          200 "ok", or 503 "not ready" after POST /fail-readiness
//   POST /fail-readiness   /healthz answers 503 from now on (a readiness probe fails)
//   POST /recover          /healthz answers 200 again
//   POST /crash            exits 1 at once (the kubelet restarts the container)
//   env PORT               listen port (default 8080), on every address
//   env IGNORE_SIGTERM     "true": SIGTERM is logged and ignored, so the pod lives until
//                          the kubelet's SIGKILL at the end of the grace period
// Otherwise SIGTERM/SIGINT close the server and exit 0. As PID 1, Node would ignore
// SIGTERM without a handler (the kernel drops default-action signals to PID 1), so both
// behaviours are explicit. One JSON line per event on stdout. No dependencies: it runs
// as-is on the distroless Node image.
import { createServer } from 'node:http';

const podName = process.env.POD_NAME ?? 'unknown';
const port = Number(process.env.PORT ?? 8080);
const ignoreSigterm = process.env.IGNORE_SIGTERM === 'true';
let ready = true;

const log = (msg, fields = {}) =>
  console.log(JSON.stringify({ time: new Date().toISOString(), pod: podName, msg, ...fields }));

const server = createServer((req, res) => {
  const path = (req.url ?? '/').split('?')[0];
  const send = (status, body) => {
    res.writeHead(status, { 'content-type': 'text/plain' }).end(`${body}\n`);
  };
  if (req.method === 'POST') {
    switch (path) {
      case '/fail-readiness':
        ready = false;
        log('readiness failing');
        return send(200, 'readiness failing');
      case '/recover':
        ready = true;
        log('readiness recovered');
        return send(200, 'ready');
      case '/crash':
        log('crashing on request');
        // Answer first, so the caller knows the request arrived; then exit at once.
        res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
        return res.end('crashing\n', () => process.exit(1));
      default:
        return send(404, 'not found');
    }
  }
  if (path === '/healthz') return ready ? send(200, 'ok') : send(503, 'not ready');
  return send(200, podName);
});
// Keep-alive connections would outlive server.close(); a test's client should not hold
// a terminating pod up.
server.keepAliveTimeout = 1000;

server.listen(port, () => log('listening', { port, ignoreSigterm }));

process.on('SIGTERM', () => {
  if (ignoreSigterm) {
    log('SIGTERM ignored');
    return;
  }
  stop('SIGTERM');
});
process.on('SIGINT', () => stop('SIGINT'));

function stop(signal) {
  log('stopping', { signal });
  server.close(() => process.exit(0));
  server.closeAllConnections();
}
