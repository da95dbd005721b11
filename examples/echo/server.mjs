// The app of the examples on a real cluster: answers every request with its pod name
// (env POD_NAME, from the downward API), so you can see which replica the Service
// sends traffic to. /healthz answers ok. Exits on SIGTERM.
import { createServer } from 'node:http';

const podName = process.env.POD_NAME ?? 'unknown';
const port = Number(process.env.PORT ?? 8080);

const server = createServer((req, res) => {
  res.setHeader('content-type', 'text/plain');
  res.end(req.url === '/healthz' ? 'ok\n' : `${podName}\n`);
});
server.listen(port, '0.0.0.0', () => console.log(`echo: ${podName} listening on :${port}`));

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
