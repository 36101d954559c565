import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { mkdir, readFile, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository's root folder. */
export const root = fileURLToPath(new URL('../..', import.meta.url));

/** A package.json, as far as these tests read it. */
export interface Manifest {
  readonly name: string;
  readonly version: string;
  readonly private?: boolean;
  readonly description?: string;
  readonly keywords?: readonly string[];
  readonly homepage?: string;
  readonly bugs?: { readonly url?: string };
  readonly repository?: { readonly type?: string; readonly url?: string; readonly directory?: string };
  readonly license?: string;
  readonly engines?: { readonly node?: string };
  readonly main?: string;
  readonly types?: string;
  readonly bin?: Readonly<Record<string, string>>;
  readonly exports?: Readonly<Record<string, string | Readonly<Record<string, string>>>>;
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly peerDependenciesMeta?: Readonly<Record<string, { readonly optional?: boolean }>>;
}

/** A published package of the workspace: `packages/<folder>`. */
export interface WorkspacePackage {
  /** Folder name under `packages/`, such as `core`. */
  readonly folder: string;
  /** Absolute path of the folder. */
  readonly dir: string;
  /** Its package.json as it is in the repository. */
  readonly manifest: Manifest;
}

/** Every package of `packages/*` that is not private. */
export function publishedPackages(): WorkspacePackage[] {
  const folders = readdirSync(join(root, 'packages')).sort();
  return folders
    .map((folder) => {
      const dir = join(root, 'packages', folder);
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
      return { folder, dir, manifest };
    })
    .filter((entry) => entry.manifest.private !== true);
}

function mtimes(path: string, pick: (a: number, b: number) => number, start: number): number {
  let result = start;
  for (const entry of readdirSync(path, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) result = pick(result, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return result;
}

/** Whether `dist/` is missing or older than anything it is built from. */
function needsBuild(entry: WorkspacePackage): boolean {
  const dist = join(entry.dir, 'dist');
  if (!existsSync(dist) || readdirSync(dist).length === 0) return true;
  const inputs = [join(entry.dir, 'package.json'), join(entry.dir, 'tsup.config.ts')].filter(existsSync);
  const newestInput = Math.max(
    mtimes(join(entry.dir, 'src'), Math.max, 0),
    ...inputs.map((path) => statSync(path).mtimeMs),
  );
  return newestInput > mtimes(dist, Math.min, Number.POSITIVE_INFINITY);
}

/**
 * Build the packages whose `dist/` is missing or stale (`.ci/run` builds
 * before testing, so there this does nothing). Returns the names built.
 */
export async function buildWhereStale(packages: readonly WorkspacePackage[]): Promise<string[]> {
  const stale = packages.filter(needsBuild);
  for (const entry of stale) {
    await run('pnpm', ['run', 'build'], { cwd: entry.dir, maxBuffer: 64 * 1024 * 1024 });
  }
  return stale.map((entry) => entry.manifest.name);
}

/** One packed tarball. */
export interface Tarball {
  /** The workspace package it was packed from. */
  readonly source: WorkspacePackage;
  /** Absolute path of the `.tgz`. */
  readonly file: string;
  /** Paths inside the tarball, without the `package/` prefix. */
  readonly files: readonly string[];
}

/** `pnpm pack` every package into `destination`, as `pnpm publish` would pack it. */
export async function packAll(
  packages: readonly WorkspacePackage[],
  destination: string,
): Promise<Map<string, Tarball>> {
  const tarballs = new Map<string, Tarball>();
  for (const source of packages) {
    await run('pnpm', ['pack', '--pack-destination', destination], { cwd: source.dir });
    const { name, version } = source.manifest;
    const file = join(destination, `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`);
    const { stdout } = await run('tar', ['-tzf', file], { maxBuffer: 16 * 1024 * 1024 });
    const files = stdout
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.replace(/^package\//, ''));
    tarballs.set(name, { source, file, files });
  }
  return tarballs;
}

/** Read one file of a tarball as text. */
export async function readFromTarball(tarball: Tarball, path: string): Promise<string> {
  const { stdout } = await run('tar', ['-xzOf', tarball.file, `package/${path}`], {
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

async function link(target: string, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await symlink(target, path, 'dir');
}

/**
 * Install tarballs into `<project>/node_modules` as npm lays them out, with
 * no registry: each tarball is unpacked to `node_modules/<name>`, and each of
 * its dependencies that is not a leadpipe package is linked into its own
 * `node_modules` from the copy the workspace installed (the version the
 * lockfile chose for that range). leadpipe packages are found at the top, as
 * after `npm install` of them all; a package not in `tarballs` is simply not
 * installed. Nothing above `project` holds a `node_modules` (it is a temporary
 * folder), so nothing else can be found.
 */
export async function installTarballs(project: string, tarballs: readonly Tarball[]): Promise<void> {
  for (const tarball of tarballs) {
    const target = join(project, 'node_modules', tarball.source.manifest.name);
    await mkdir(target, { recursive: true });
    await run('tar', ['-xzf', tarball.file, '-C', target, '--strip-components=1']);
    const manifest = JSON.parse(await readFile(join(target, 'package.json'), 'utf8')) as Manifest;
    for (const dependency of Object.keys(manifest.dependencies ?? {})) {
      if (dependency.startsWith('@leadpipe/')) continue;
      const installed = realpathSync(join(tarball.source.dir, 'node_modules', dependency));
      await link(installed, join(target, 'node_modules', dependency));
    }
    // npm 7+ installs peer dependencies that are not optional, at the top (as hono for @leadpipe/dashboard).
    for (const [peer, range] of Object.entries(manifest.peerDependencies ?? {})) {
      if (peer.startsWith('@leadpipe/') || range === undefined) continue;
      if (manifest.peerDependenciesMeta?.[peer]?.optional === true) continue;
      const top = join(project, 'node_modules', peer);
      if (existsSync(top)) continue;
      await link(realpathSync(join(tarball.source.dir, 'node_modules', peer)), top);
    }
  }
}

/** Link the workspace's `@types/node` into `<project>/node_modules`, for a TypeScript consumer. */
export async function installNodeTypes(project: string): Promise<void> {
  await link(realpathSync(join(root, 'node_modules/@types/node')), join(project, 'node_modules/@types/node'));
}

/** The module specifiers a package's exports map offers (`@leadpipe/core`, `@leadpipe/core/adapter-kit`). */
export function entryPoints(manifest: Manifest): string[] {
  return Object.keys(manifest.exports ?? { '.': '' })
    .filter((key) => key !== './package.json')
    .map((key) => (key === '.' ? manifest.name : `${manifest.name}${key.slice(1)}`));
}
