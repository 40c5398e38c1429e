import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';

/**
 * The CAs to trust for a server the collector calls: the system's plus the configured file, or
 * undefined for the system's alone. Read once at start; throws naming the setting when it cannot.
 */
export function caBundle(caFile: string | undefined, setting: string): string[] | undefined {
  if (caFile === undefined) {
    return undefined;
  }
  try {
    return [...rootCertificates, readFileSync(caFile, 'utf8')];
  } catch (err) {
    throw new Error(`cannot read ${setting} ${caFile}: ${(err as Error).message}`);
  }
}
