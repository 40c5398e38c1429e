import type { Body } from './bodies.ts';

/** Posts one OTLP body and returns the status and raw response. */
export async function post(url: string, body: Body): Promise<{ status: number; response: Buffer }> {
  const res = await fetch(`${url}/v1/metrics`, {
    method: 'POST',
    headers: { 'content-type': body.contentType },
    body: new Uint8Array(body.bytes),
  });
  return { status: res.status, response: Buffer.from(await res.arrayBuffer()) };
}

/**
 * Throws unless every point of the body was accepted. The collector answers 200 even when it refuses
 * points (partial success), so a benchmark body that used a wrong name or temporality would quietly
 * measure the cheap refusal path; a full success is an empty message (`{}` or zero protobuf bytes).
 */
export async function postAccepted(url: string, body: Body): Promise<void> {
  const { status, response } = await post(url, body);
  const empty = body.encoding === 'json' ? response.toString('utf8') === '{}' : response.length === 0;
  if (status !== 200 || !empty) {
    const text = body.encoding === 'json' ? response.toString('utf8') : `${response.length} protobuf bytes`;
    throw new Error(`${body.name}: not fully accepted (HTTP ${status}): ${text}`);
  }
}

export interface IngestTiming {
  readonly points: number;
  readonly seconds: number;
}

/** Posts the bodies one after another, each checked for full acceptance. */
export async function populate(url: string, bodies: readonly Body[]): Promise<IngestTiming> {
  let points = 0;
  const started = performance.now();
  for (const body of bodies) {
    await postAccepted(url, body);
    points += body.points;
  }
  return { points, seconds: (performance.now() - started) / 1000 };
}
