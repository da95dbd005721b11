// The traffic client of the kind end-to-end tests: requests a URL (a Service's ClusterIP,
// so through kube-proxy) in a loop and prints one JSON line per request:
//   {"t": <ms since epoch>, "pod": "<the answer>"}        answered
//   {"t": <ms since epoch>, "err": "<code or message>"}   refused, reset or timed out
// Usage: node client.mjs URL [INTERVAL_MS=50] [TIMEOUT_MS=500]. Runs until killed.
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

const [url, intervalArg, timeoutArg] = process.argv.slice(2);
if (!url) {
  console.error('usage: node client.mjs URL [INTERVAL_MS] [TIMEOUT_MS]');
  process.exit(2);
}
const intervalMs = Number(intervalArg ?? 50);
const timeoutMs = Number(timeoutArg ?? 500);

function once() {
  return new Promise((resolve) => {
    const t = Date.now();
    // A new connection per request (agent: false): kube-proxy picks an endpoint per connection.
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ t, pod: body.trim() }));
      res.on('error', (e) => resolve({ t, err: e.code ?? e.message }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (e) => resolve({ t, err: e.code ?? e.message }));
    req.end();
  });
}

process.on('SIGTERM', () => process.exit(0));
for (;;) {
  console.log(JSON.stringify(await once()));
  await sleep(intervalMs);
}
