// Unit tests of the Lease client (recordOf, get/create/update, single-object watch) against an in-process fake API server.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LeaseRecord } from '../../../common/election/election.ts';
import {
  recordOf,
  LeaseClient,
  type Lease,
  type ObservedLease,
} from '../../../common/election/lease-client.ts';
import {
  HOLDER_INSTANCE_ANNOTATION,
  PREFERRED_HOLDER_ANNOTATION,
  PREFERRED_HOLDER_RELEASE_ANNOTATION,
} from '../../../common/contract/keys.ts';
import { ApiError, KubeClient, TransportError } from '../../../common/kube/kube-client.ts';

const LEASES = '/apis/coordination.k8s.io/v1/namespaces/team-a/leases';

interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType: string | undefined;
  body: unknown;
}

type Handler = (seen: Seen, res: ServerResponse) => void;

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const status = (code: number, reason: string, message: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  status: 'Failure',
  code,
  reason,
  message,
});

let server: http.Server;
let sockets: Set<Socket>;
let seen: Seen[];
let handler: Handler;
let kube: KubeClient;

beforeEach(async () => {
  seen = [];
  sockets = new Set();
  handler = (_s, res) => reply(res, 500, status(500, 'InternalError', 'no handler'));
  server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '', 'http://x');
      const text = Buffer.concat(chunks).toString('utf8');
      const s: Seen = {
        method: req.method ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        contentType: req.headers['content-type'],
        body: text ? JSON.parse(text) : undefined,
      };
      seen.push(s);
      handler(s, res);
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  kube = new KubeClient({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
});

afterEach(async () => {
  kube.close();
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

async function until(cond: () => boolean, what: string, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const RENEW = '2026-11-22T01:02:03.123456Z';
const ACQUIRE = '2026-11-22T01:00:00.000000Z';

function lease(rv: string, spec: Lease['spec'], annotations?: Record<string, string>): Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'my-lease', namespace: 'team-a', uid: 'u-1', resourceVersion: rv, annotations },
    spec,
  };
}

const held: Lease['spec'] = {
  holderIdentity: 'pod-a',
  leaseDurationSeconds: 15,
  acquireTime: ACQUIRE as unknown as Date,
  renewTime: RENEW as unknown as Date,
  leaseTransitions: 3,
};

describe('recordOf', () => {
  it('takes the election fields, keeping MicroTime strings as they are', () => {
    expect(recordOf(lease('1', held))).toEqual({
      holderIdentity: 'pod-a',
      leaseDurationSeconds: 15,
      acquireTime: ACQUIRE,
      renewTime: RENEW,
      leaseTransitions: 3,
    });
  });

  it('turns Date MicroTimes (the generated types) into ISO strings', () => {
    const r = recordOf(
      lease('1', {
        ...held,
        acquireTime: new Date('2026-11-22T01:00:00.5Z'),
        renewTime: new Date('2026-11-22T01:02:03.123Z'),
      }),
    );
    expect([r.acquireTime, r.renewTime]).toEqual(['2026-11-22T01:00:00.500Z', '2026-11-22T01:02:03.123Z']);
  });

  it("fills client-go's defaults for absent fields", () => {
    const empty: LeaseRecord = { holderIdentity: '', leaseDurationSeconds: 0, leaseTransitions: 0 };
    expect(recordOf({ metadata: { name: 'x' } })).toEqual(empty);
    expect(recordOf({ spec: {} })).toEqual(empty);
    const nulls = recordOf({ spec: { acquireTime: null, renewTime: null } as unknown as Lease['spec'] });
    expect([nulls.acquireTime, nulls.renewTime]).toEqual([undefined, undefined]);
  });

  it('reads the preferred-holder annotation on the release that wrote it only', () => {
    const released = { ...held, holderIdentity: '' };
    const annotations = {
      [PREFERRED_HOLDER_ANNOTATION]: 'pod-b',
      [PREFERRED_HOLDER_RELEASE_ANNOTATION]: RENEW,
      other: 'x',
    };
    expect(recordOf(lease('1', released, annotations))).toEqual({
      holderIdentity: '',
      leaseDurationSeconds: 15,
      acquireTime: ACQUIRE,
      renewTime: RENEW,
      leaseTransitions: 3,
      preferredHolder: 'pod-b',
    });
    // A holder's Lease: the annotation is stale and ignored.
    expect(recordOf(lease('1', held, annotations))).not.toHaveProperty('preferredHolder');
    // An empty annotation is no preference.
    expect(recordOf(lease('1', released, { [PREFERRED_HOLDER_ANNOTATION]: '' }))).not.toHaveProperty(
      'preferredHolder',
    );
    // Issue 12, item 9: a client-go peer took the Lease and released it since; it writes the spec
    // only, so the annotations stayed behind. Another release (another renewTime): no reservation.
    const laterRelease = { ...released, renewTime: '2026-11-22T01:09:00.000000Z' as unknown as Date };
    expect(recordOf(lease('2', laterRelease, annotations))).not.toHaveProperty('preferredHolder');
    expect(recordOf({ metadata: { annotations } })).not.toHaveProperty('preferredHolder');
  });
});

describe('recordOf: the holder-instance annotation', () => {
  it('reads it on a held Lease only', () => {
    const annotations = { [HOLDER_INSTANCE_ANNOTATION]: 'uid-1/abc' };
    expect(recordOf(lease('1', held, annotations))).toHaveProperty('holderInstance', 'uid-1/abc');
    expect(recordOf(lease('1', { ...held, holderIdentity: '' }, annotations))).not.toHaveProperty(
      'holderInstance',
    );
  });
});

describe('LeaseClient', () => {
  const leases = (timeoutMs = 2_000) => new LeaseClient(kube, 'team-a', 'my-lease', timeoutMs);

  it('names the Lease collection of its namespace, escaping the path segments', () => {
    expect(leases().path).toBe(LEASES);
    expect(new LeaseClient(kube, 'a/b', 'x', 1_000).path).toBe(
      '/apis/coordination.k8s.io/v1/namespaces/a%2Fb/leases',
    );
  });

  describe('get', () => {
    it('GETs the Lease by name and returns its record and resourceVersion', async () => {
      const l = lease('42', held);
      handler = (_s, res) => reply(res, 200, l);
      const got = (await leases().get()) as ObservedLease;
      expect(seen.map((s) => [s.method, s.path, s.body])).toEqual([['GET', `${LEASES}/my-lease`, undefined]]);
      expect(got.resourceVersion).toBe('42');
      expect(got.record).toEqual(recordOf(l));
      expect(got.record.renewTime).toBe(RENEW);
      expect(got.lease).toEqual(l);
    });

    it('escapes the name in the path', async () => {
      handler = (_s, res) => reply(res, 200, lease('1', held));
      await new LeaseClient(kube, 'team-a', 'a b', 1_000).get();
      expect(seen[0]!.path).toBe(`${LEASES}/a%20b`);
    });

    it("returns 'absent' on 404 NotFound", async () => {
      handler = (_s, res) => reply(res, 404, status(404, 'NotFound', 'leases "my-lease" not found'));
      expect(await leases().get()).toBe('absent');
    });

    it("gives '' as the resourceVersion of a Lease without one", async () => {
      handler = (_s, res) => reply(res, 200, { spec: held });
      expect(((await leases().get()) as ObservedLease).resourceVersion).toBe('');
    });

    it('throws other API errors', async () => {
      handler = (_s, res) => reply(res, 403, status(403, 'Forbidden', 'leases is forbidden'));
      const err = (await leases()
        .get()
        .catch((e: unknown) => e)) as ApiError;
      expect(err).toBeInstanceOf(ApiError);
      expect([err.status, err.reason]).toEqual([403, 'Forbidden']);
    });

    it('bounds the request by its timeout', async () => {
      handler = () => {}; // never answers
      const started = Date.now();
      const err = (await leases(40)
        .get()
        .catch((e: unknown) => e)) as TransportError;
      expect(err).toBeInstanceOf(TransportError);
      expect(err.reason).toBe('Timeout');
      expect(err.message).toBe(`GET ${LEASES}/my-lease: no answer within 40 ms`);
      expect(Date.now() - started).toBeLessThan(2_000);
    });
  });

  describe('create', () => {
    const record: LeaseRecord = {
      holderIdentity: 'pod-a',
      leaseDurationSeconds: 15,
      acquireTime: ACQUIRE,
      renewTime: RENEW,
      leaseTransitions: 0,
    };

    it('POSTs a new Lease to the collection and returns what the server stored', async () => {
      handler = (s, res) => {
        const body = s.body as Lease;
        reply(res, 201, { ...body, metadata: { ...body.metadata, uid: 'u-1', resourceVersion: '100' } });
      };
      const created = await leases().create(record);
      expect(seen).toHaveLength(1);
      const s = seen[0]!;
      expect([s.method, s.path, s.contentType]).toEqual(['POST', LEASES, 'application/json']);
      expect(s.body).toEqual({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'my-lease', namespace: 'team-a' },
        spec: {
          holderIdentity: 'pod-a',
          leaseDurationSeconds: 15,
          acquireTime: ACQUIRE,
          renewTime: RENEW,
          leaseTransitions: 0,
        },
      });
      expect(created.resourceVersion).toBe('100');
      expect(created.record).toEqual(record);
      expect(created.lease.metadata?.uid).toBe('u-1');
    });

    it('sends no preferred-holder annotation and no absent times', async () => {
      handler = (s, res) => reply(res, 201, s.body);
      await leases().create({
        holderIdentity: '',
        leaseDurationSeconds: 15,
        leaseTransitions: 0,
        preferredHolder: 'b',
      });
      const body = seen[0]!.body as Lease;
      expect(body.metadata).toEqual({ name: 'my-lease', namespace: 'team-a' });
      expect(body.spec).toEqual({ holderIdentity: '', leaseDurationSeconds: 15, leaseTransitions: 0 });
    });

    it('rejects with an AlreadyExists ApiError when the Lease exists', async () => {
      handler = (_s, res) =>
        reply(res, 409, status(409, 'AlreadyExists', 'leases "my-lease" already exists'));
      const err = await leases()
        .create(record)
        .catch((e: unknown) => e);
      expect(ApiError.isAlreadyExists(err)).toBe(true);
      expect(ApiError.isConflict(err)).toBe(false);
    });
  });

  describe('update', () => {
    const cached: Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        name: 'my-lease',
        namespace: 'team-a',
        uid: 'u-1',
        resourceVersion: '41',
        labels: { app: 'x' },
        annotations: { [PREFERRED_HOLDER_ANNOTATION]: 'pod-b', 'example.com/note': 'keep' },
      },
      spec: { ...held, strategy: 'OldestEmulationVersion' },
    };
    const renew: LeaseRecord = {
      holderIdentity: 'pod-a',
      leaseDurationSeconds: 20,
      acquireTime: ACQUIRE,
      renewTime: '2026-11-22T01:02:05.000000Z',
      leaseTransitions: 3,
    };

    it('writes the holder instance with the record, and removes it with a release', async () => {
      handler = (s, res) => {
        const body = s.body as Lease;
        reply(res, 200, { ...body, metadata: { ...body.metadata, resourceVersion: '43' } });
      };
      const out = await leases().update({ ...renew, holderInstance: 'uid-1/abc' }, cached, '42');
      expect((seen[0]!.body as Lease).metadata?.annotations).toEqual({
        'example.com/note': 'keep',
        [HOLDER_INSTANCE_ANNOTATION]: 'uid-1/abc',
      });
      expect(out.record.holderInstance).toBe('uid-1/abc');
      const released = { ...renew, holderIdentity: '', leaseDurationSeconds: 1 };
      await leases().update(released, out.lease, '43');
      expect((seen[1]!.body as Lease).metadata?.annotations).toEqual({ 'example.com/note': 'keep' });
    });

    it('PUTs the cached object with the new record, the given resourceVersion, and the stale preference removed', async () => {
      handler = (s, res) => {
        const body = s.body as Lease;
        reply(res, 200, { ...body, metadata: { ...body.metadata, resourceVersion: '43' } });
      };
      const snapshot = structuredClone(cached);
      const out = await leases().update(renew, cached, '42');
      const s = seen[0]!;
      expect([s.method, s.path, s.contentType]).toEqual(['PUT', `${LEASES}/my-lease`, 'application/json']);
      expect(s.body).toEqual({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: {
          name: 'my-lease',
          namespace: 'team-a',
          uid: 'u-1',
          // The resourceVersion passed in, not the cached object's.
          resourceVersion: '42',
          labels: { app: 'x' },
          annotations: { 'example.com/note': 'keep' },
        },
        spec: {
          holderIdentity: 'pod-a',
          leaseDurationSeconds: 20,
          acquireTime: ACQUIRE,
          renewTime: '2026-11-22T01:02:05.000000Z',
          leaseTransitions: 3,
          // Spec fields the record does not know are kept.
          strategy: 'OldestEmulationVersion',
        },
      });
      expect(out.resourceVersion).toBe('43');
      expect(out.record).toEqual(renew);
      // The cached object is left as it was.
      expect(cached).toEqual(snapshot);
    });

    it('sets the preferred-holder annotation when releasing to a successor', async () => {
      handler = (s, res) => reply(res, 200, s.body);
      const bare: Lease = {
        metadata: { name: 'my-lease', namespace: 'team-a', resourceVersion: '41' },
        spec: held,
      };
      const release: LeaseRecord = {
        holderIdentity: '',
        leaseDurationSeconds: 15,
        acquireTime: ACQUIRE,
        renewTime: RENEW,
        leaseTransitions: 3,
        preferredHolder: 'pod-c',
      };
      const out = await leases().update(release, bare, '41');
      const body = seen[0]!.body as Lease;
      expect(body.metadata?.annotations).toEqual({
        [PREFERRED_HOLDER_ANNOTATION]: 'pod-c',
        [PREFERRED_HOLDER_RELEASE_ANNOTATION]: RENEW,
      });
      expect(body.spec?.holderIdentity).toBe('');
      // Read back through recordOf, the preference survives the round trip.
      expect(out.record).toEqual(release);
    });

    it('drops times the record does not have, even when the cached spec had them', async () => {
      handler = (s, res) => reply(res, 200, s.body);
      await leases().update(
        { holderIdentity: 'pod-a', leaseDurationSeconds: 15, leaseTransitions: 4 },
        cached,
        '41',
      );
      const spec = (seen[0]!.body as Lease).spec!;
      expect(spec).not.toHaveProperty('acquireTime');
      expect(spec).not.toHaveProperty('renewTime');
      expect(spec.leaseTransitions).toBe(4);
    });

    it('rejects with a Conflict ApiError when the resourceVersion is stale', async () => {
      handler = (_s, res) =>
        reply(
          res,
          409,
          status(
            409,
            'Conflict',
            'Operation cannot be fulfilled on leases "my-lease": the object has been modified',
          ),
        );
      const err = (await leases()
        .update(renew, cached, '40')
        .catch((e: unknown) => e)) as ApiError;
      expect(ApiError.isConflict(err)).toBe(true);
      expect(ApiError.isNotFound(err)).toBe(false);
      expect(err.message).toContain('the object has been modified');
    });
  });

  describe('watch', () => {
    /** Lists with `list`, then keeps the watch stream open for the test to write to. */
    function serveListWatch(list: Lease[], listRv: string) {
      let stream: ServerResponse | undefined;
      handler = (s, res) => {
        if (s.query.watch === 'true') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.flushHeaders();
          stream = res;
        } else {
          reply(res, 200, { kind: 'LeaseList', items: list, metadata: { resourceVersion: listRv } });
        }
      };
      return {
        opened: () => until(() => stream !== undefined, 'the watch request'),
        send: (type: string, object: unknown) => stream!.write(JSON.stringify({ type, object }) + '\n'),
      };
    }

    const summary = (o: ObservedLease | 'absent') =>
      o === 'absent' ? 'absent' : `${o.record.holderIdentity || '-'}@${o.resourceVersion}`;

    it('lists then watches only this Lease, reporting each new version', async () => {
      const srv = serveListWatch([lease('50', held)], '55');
      const changes: ObservedLease[] = [];
      const ac = new AbortController();
      const done = leases().watch((o) => changes.push(o as ObservedLease), ac.signal);
      await srv.opened();
      srv.send(
        'MODIFIED',
        lease('56', { ...held, holderIdentity: 'pod-b', renewTime: RENEW as unknown as Date }),
      );
      await until(() => changes.length === 2, 'two changes');
      ac.abort();
      await done;

      expect(seen.map((s) => [s.method, s.path])).toEqual([
        ['GET', LEASES],
        ['GET', LEASES],
      ]);
      expect(seen[0]!.query).toEqual({ fieldSelector: 'metadata.name=my-lease' });
      expect(seen[1]!.query).toEqual({
        fieldSelector: 'metadata.name=my-lease',
        resourceVersion: '55',
        allowWatchBookmarks: 'true',
        timeoutSeconds: '300',
        watch: 'true',
      });
      expect(changes.map(summary)).toEqual(['pod-a@50', 'pod-b@56']);
      expect(changes[1]!.record.renewTime).toBe(RENEW);
      expect(changes[1]!.lease.metadata?.uid).toBe('u-1');
    });

    it("reports 'absent' for an empty list and a DELETED event, and nothing for a bookmark", async () => {
      const srv = serveListWatch([], '10');
      const changes: (ObservedLease | 'absent')[] = [];
      const ac = new AbortController();
      const done = leases().watch((o) => changes.push(o), ac.signal);
      await srv.opened();
      srv.send('ADDED', lease('11', held));
      srv.send('BOOKMARK', { kind: 'Lease', metadata: { resourceVersion: '12' } });
      srv.send('MODIFIED', lease('13', { ...held, holderIdentity: '' }));
      srv.send('DELETED', lease('14', { ...held, holderIdentity: '' }));
      await until(() => changes.length === 4, 'four changes');
      ac.abort();
      await done;
      expect(changes.map(summary)).toEqual(['absent', 'pod-a@11', '-@13', 'absent']);
    });

    it('passes list errors to onError and ends when the signal aborts', async () => {
      handler = (_s, res) => reply(res, 403, status(403, 'Forbidden', 'cannot list leases'));
      const errors: unknown[] = [];
      const ac = new AbortController();
      const done = leases().watch(
        () => errors.push('unexpected change'),
        ac.signal,
        (e) => errors.push(e),
      );
      await until(() => errors.length >= 1, 'an error');
      ac.abort();
      await expect(done).resolves.toBeUndefined();
      expect(errors[0]).toBeInstanceOf(ApiError);
      expect((errors[0] as ApiError).reason).toBe('Forbidden');
      expect(seen[0]!.query).toEqual({ fieldSelector: 'metadata.name=my-lease' });
    });
  });
});
