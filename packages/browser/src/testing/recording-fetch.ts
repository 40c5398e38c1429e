/**
 * The network boundary as a test sees it: a `fetch` that records every request the panel makes (body,
 * `keepalive`, the answer's status) and passes it on to a real `fetch` or answers it itself, and knows
 * when nothing is in flight any more.
 */
import { decodeOtlpJson, type WirePoint } from './otlp.ts';

export interface Exchange {
  readonly url: string;
  readonly body: string;
  readonly bytes: number;
  readonly keepalive: boolean | undefined;
  readonly credentials: RequestCredentials | undefined;
  readonly contentType: string | undefined;
  /** Date.now() when the request was made (fake time under fake timers). */
  readonly sentAt: number;
  /** The answer's status; 0 when no answer came (refused, aborted); undefined while in flight. */
  status: number | undefined;
  readonly points: WirePoint[];
}

export interface RecordingFetch {
  readonly fetch: typeof fetch;
  readonly exchanges: readonly Exchange[];
  /** Points of the bodies the receiver accepted (2xx). */
  delivered(): WirePoint[];
  /** Resolves once no request is in flight and the panel made no new one while waiting. */
  idle(): Promise<void>;
}

/** Answers every request itself with `status` (and headers), without a network. */
export function answering(status = 200, headers: Record<string, string> = {}): typeof fetch {
  return async () =>
    new Response(status === 204 ? null : '{}', { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

function bodyText(body: unknown): string {
  if (typeof body === 'string') {
    return body;
  }
  // ArrayBuffer.isView, not instanceof: the SDK's bytes may come from another realm than jsdom's globals.
  if (ArrayBuffer.isView(body)) {
    return new TextDecoder().decode(body);
  }
  if (Object.prototype.toString.call(body) === '[object ArrayBuffer]') {
    return new TextDecoder().decode(new Uint8Array(body as ArrayBuffer));
  }
  return String(body);
}

function headerOf(headers: HeadersInit | undefined, name: string): string | undefined {
  if (headers === undefined) {
    return undefined;
  }
  return new Headers(headers).get(name) ?? undefined;
}

/** The body's points; none when it is not OTLP/JSON (the test then fails on what is missing, not here). */
function pointsIn(body: string): WirePoint[] {
  try {
    return decodeOtlpJson(body);
  } catch {
    return [];
  }
}

/** A macrotask turn (setImmediate is left real by the suites' fake timers). */
export const macrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export function createRecordingFetch(inner: typeof fetch = answering(200)): RecordingFetch {
  const exchanges: Exchange[] = [];
  const inFlight = new Set<Promise<unknown>>();

  const recording = (async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const body = bodyText(init?.body);
    const exchange: Exchange = {
      url: String(input),
      body,
      bytes: new TextEncoder().encode(body).byteLength,
      keepalive: init?.keepalive,
      credentials: init?.credentials,
      contentType: headerOf(init?.headers, 'Content-Type'),
      sentAt: Date.now(),
      status: undefined,
      points: pointsIn(body),
    };
    exchanges.push(exchange);
    const answer = inner(input, init).then(
      (response) => {
        exchange.status = response.status;
        return response;
      },
      (error: unknown) => {
        exchange.status = 0;
        throw error;
      }
    );
    inFlight.add(answer);
    void answer.catch(() => undefined).finally(() => inFlight.delete(answer));
    return answer;
  }) as typeof fetch;

  return {
    fetch: recording,
    exchanges,
    delivered: () =>
      exchanges.filter((e) => e.status !== undefined && e.status >= 200 && e.status < 300).flatMap((e) => e.points),
    async idle() {
      // The SDK collects through promise chains and the transport reads each answer's body after the
      // fetch resolves, so a few turns pass between an answer and the next request.
      let quiet = 0;
      let seen = exchanges.length;
      while (quiet < 3) {
        if (inFlight.size > 0) {
          await Promise.allSettled([...inFlight]);
        }
        for (let i = 0; i < 5; i++) {
          await macrotask();
        }
        if (inFlight.size === 0 && exchanges.length === seen) {
          quiet += 1;
        } else {
          quiet = 0;
        }
        seen = exchanges.length;
      }
    },
  };
}
