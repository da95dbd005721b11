// A TCP relay between one pod's processes and the API server. Cutting it
// simulates a network partition of that pod: bytes in both directions are held
// back (as a lost link would, with TCP retransmitting), so requests hang and time
// out rather than fail fast. Healing delivers what was held and forwards again.
import { connect, createServer, type Server, type Socket } from 'node:net';

interface Pipe {
  client: Socket;
  upstream?: Socket;
  toUpstream: Buffer[];
  toClient: Buffer[];
  close: () => void;
}

export class ApiRelay {
  private server: Server;
  private readonly pipes = new Set<Pipe>();
  private cut = false;
  port = 0;
  private readonly target: { host: string; port: number };
  private readonly listenHost: string;

  constructor(target: { host: string; port: number }, listenHost = '127.0.0.1') {
    this.target = target;
    this.listenHost = listenHost;
    this.server = createServer((client) => this.accept(client));
  }

  async start(): Promise<number> {
    await new Promise<void>((res, rej) => {
      this.server.once('error', rej);
      this.server.listen(0, this.listenHost, () => res());
    });
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return this.port;
  }

  get isCut(): boolean {
    return this.cut;
  }

  private accept(client: Socket): void {
    const pipe: Pipe = {
      client,
      toUpstream: [],
      toClient: [],
      close: () => {
        this.pipes.delete(pipe);
        client.destroy();
        pipe.upstream?.destroy();
      },
    };
    this.pipes.add(pipe);
    client.on('data', (d: Buffer) => {
      if (this.cut || !pipe.upstream) pipe.toUpstream.push(d);
      else pipe.upstream.write(d);
    });
    client.on('error', pipe.close);
    client.on('close', pipe.close);
    if (!this.cut) this.connectUpstream(pipe);
  }

  private connectUpstream(pipe: Pipe): void {
    const upstream = connect(this.target.port, this.target.host);
    pipe.upstream = upstream;
    upstream.on('connect', () => this.flush(pipe));
    upstream.on('data', (d: Buffer) => {
      if (this.cut) pipe.toClient.push(d);
      else pipe.client.write(d);
    });
    upstream.on('error', pipe.close);
    upstream.on('close', pipe.close);
  }

  private flush(pipe: Pipe): void {
    if (this.cut) return;
    for (const d of pipe.toUpstream.splice(0)) pipe.upstream?.write(d);
    for (const d of pipe.toClient.splice(0)) pipe.client.write(d);
  }

  /** Stops forwarding in both directions; connections stay open but silent. */
  cutOff(): void {
    this.cut = true;
  }

  /** Forwards again, delivering what was held back. */
  heal(): void {
    this.cut = false;
    for (const pipe of this.pipes) {
      if (pipe.upstream) this.flush(pipe);
      else this.connectUpstream(pipe);
    }
  }

  async close(): Promise<void> {
    for (const pipe of this.pipes) {
      pipe.client.destroy();
      pipe.upstream?.destroy();
    }
    this.pipes.clear();
    await new Promise<void>((res) => this.server.close(() => res()));
  }
}
