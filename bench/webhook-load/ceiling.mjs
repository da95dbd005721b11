// The ceiling the webhook is measured against (issue 16): a bare HTTPS server on the same core,
// with the same certificate, TLS settings and Node, that reads each request's body and answers
// with fixed bytes — the webhook's own answer to that review, recorded once — so it spends what
// any admission webhook must (TLS, HTTP, reading the body, writing the answer) and nothing else
// (no parsing, no decision, no patch).
//   node ceiling.mjs PORT CERT KEY ANSWER_FILE
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

const [port, cert, key, answerFile] = process.argv.slice(2);
const answer = readFileSync(answerFile);
const server = createServer(
  { cert: readFileSync(cert), key: readFileSync(key), minVersion: 'TLSv1.2' },
  (req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': answer.length });
      res.end(answer);
    });
  },
);
server.keepAliveTimeout = 60_000;
server.listen(Number(port), '127.0.0.1', () => process.stdout.write('listening\n'));
