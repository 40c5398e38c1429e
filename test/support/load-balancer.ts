/**
 * A load balancer without session affinity in front of collector replicas, for tests of what
 * several replicas add up to. Each client gets its own base URL (`/client/<id>`) only so that its
 * requests can be spread deliberately: they go to the replicas in turn, starting at a different
 * replica per client, so two consecutive exports of one browser never reach the same replica. That is
 * the worst case for a collector that would keep per-session state, and what a round-robin proxy may
 * do to any client.
 *
 * Written here rather than using nginx: nginx's round robin is shared by all clients (and kept per
 * worker), so it cannot promise that one browser's consecutive exports alternate, and it does not tell
 * the test which replica got which request.
 */
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buffer } from 'node:stream/consumers';

export interface RoutedRequest {
  readonly client: string;
  /** Index into the replica URLs the balancer was made with. */
  readonly replica: number;
  /** The replica's HTTP status (502 when it could not be reached). */
  readonly status: number;
}

export interface LoadBalancer {
  /**
   * The base URL a client exports to (`${clientUrl('s1')}/v1/metrics`); the first call for a client
   * also picks the replica its first request goes to.
   */
  clientUrl(client: string): string;
  /** Every request forwarded so far, in the order the answers came back. */
  readonly routed: readonly RoutedRequest[];
  close(): Promise<void>;
}

const PREFIX = /^\/client\/([\w.-]+)(\/.*)$/;

/** Starts the balancer on a free loopback port in front of `replicas` (base URLs). */
export async function startLoadBalancer(replicas: readonly string[]): Promise<LoadBalancer> {
  const routed: RoutedRequest[] = [];
  /** The replica each client's next request goes to. */
  const next = new Map<string, number>();

  const server = createServer((req, res) => {
    const match = PREFIX.exec(req.url ?? '');
    if (match === null) {
      res.writeHead(404).end();
      return;
    }
    const client = match[1]!;
    const path = match[2]!;
    const replica = next.get(client);
    if (replica === undefined) {
      res.writeHead(404).end();
      return;
    }
    next.set(client, (replica + 1) % replicas.length);
    const fail = (): void => {
      routed.push({ client, replica, status: 502 });
      if (!res.headersSent) {
        res.writeHead(502);
      }
      res.end();
    };
    buffer(req).then((body) => {
      const headers = { ...req.headers };
      delete headers.host;
      delete headers.connection;
      const upstream = request(
        new URL(path, replicas[replica]),
        { method: req.method, headers, agent: false },
        (answer) => {
          buffer(answer).then((answerBody) => {
            routed.push({ client, replica, status: answer.statusCode ?? 0 });
            const { connection: _connection, 'transfer-encoding': _te, ...answerHeaders } = answer.headers;
            res.writeHead(answer.statusCode ?? 502, { ...answerHeaders, 'content-length': String(answerBody.length) });
            res.end(answerBody);
          }, fail);
        }
      );
      upstream.on('error', fail);
      upstream.end(body);
    }, fail);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    clientUrl(client) {
      if (!/^[\w.-]+$/.test(client)) {
        throw new Error(`client id ${JSON.stringify(client)}: use letters, digits, _ . -`);
      }
      // Each new client starts at the next replica, so that first exports spread over all replicas too.
      if (!next.has(client)) {
        next.set(client, next.size % replicas.length);
      }
      return `http://127.0.0.1:${port}/client/${client}`;
    },
    routed,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
