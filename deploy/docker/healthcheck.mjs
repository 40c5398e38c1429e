// Docker HEALTHCHECK for the collector: GET /healthz on the port FOOTFALL_LISTEN names, over loopback
// (a 0.0.0.0 or [::] listener also answers there). Exit 0 healthy, 1 not.
const listen = process.env.FOOTFALL_LISTEN ?? '0.0.0.0:4318';
const port = listen.slice(listen.lastIndexOf(':') + 1) || '4318';
try {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
