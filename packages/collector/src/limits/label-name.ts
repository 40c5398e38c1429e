/**
 * The Prometheus label name for an attribute key: characters outside [a-zA-Z0-9_] become `_`, runs of
 * `_` collapse to one and a leading digit gets a `_` prefix. The result is a fixed point of
 * @opentelemetry/exporter-prometheus's own sanitising (which also collapses `__+` but never prefixes
 * label names), so two keys that differ here can never become the same label there, and no key can
 * produce an invalid label name that would make Prometheus reject the whole scrape.
 *
 * Returns undefined for keys with nothing usable left.
 */
export function labelName(key: string): string | undefined {
  let name = key.replace(/[^a-zA-Z0-9_]/g, '_').replace(/_{2,}/g, '_');
  if (name === '' || name === '_') {
    return undefined;
  }
  if (name.charCodeAt(0) >= 48 && name.charCodeAt(0) <= 57) {
    name = `_${name}`;
  }
  return RESERVED.has(name) ? `exported_${name}` : name;
}

/** Labels that Prometheus or the exporter give a meaning of their own. */
const RESERVED = new Set([
  'le',
  'quantile',
  'otel_metric_overflow',
  'otel_scope_name',
  'otel_scope_version',
  'otel_scope_schema_url',
]);
