import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildWhereStale,
  entryPoints,
  installNodeTypes,
  installTarballs,
  type Manifest,
  packAll,
  publishedPackages,
  readFromTarball,
  root,
  type Tarball,
} from './support/packed.js';

const run = promisify(execFile);

/** Run `node` (the one running the tests: Node 20 or 24) and resolve with what it did, whatever its exit code. */
async function node(
  args: readonly string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...args], {
      cwd,
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_OPTIONS: '', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : -1,
      stdout: failed.stdout ?? '',
      stderr: failed.stderr ?? '',
    };
  }
}

const packages = publishedPackages();
const rootLicense = readFileSync(join(root, 'LICENSE'), 'utf8');
let work: string;
let tarballs: Map<string, Tarball>;
/** Every package installed from its tarball. */
let full: string;
/** Every package but `@leadpipe/testkit`: what `npm install @leadpipe/cli` gives. */
let withoutTestkit: string;

function tarballOf(name: string): Tarball {
  const tarball = tarballs.get(name);
  if (tarball === undefined) throw new Error(`${name} was not packed`);
  return tarball;
}

async function packedManifest(name: string): Promise<Manifest> {
  return JSON.parse(await readFromTarball(tarballOf(name), 'package.json')) as Manifest;
}

beforeAll(async () => {
  const built = await buildWhereStale(packages);
  if (built.length > 0)
    console.info(`[packaging] built first (dist was missing or stale): ${built.join(', ')}`);
  work = await mkdtemp(join(tmpdir(), 'leadpipe-packaging-'));
  await mkdir(join(work, 'tarballs'));
  tarballs = await packAll(packages, join(work, 'tarballs'));
  full = join(work, 'full');
  withoutTestkit = join(work, 'without-testkit');
  await installTarballs(full, [...tarballs.values()]);
  await installTarballs(
    withoutTestkit,
    [...tarballs.values()].filter((tarball) => tarball.source.manifest.name !== '@leadpipe/testkit'),
  );
}, 600_000);

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

describe.each(packages.map((entry) => [entry.manifest.name, entry] as const))(
  'the tarball of %s',
  (name, entry) => {
    it('ships dist, README, LICENSE and package.json, and no sources, tests or build config', () => {
      const { files } = tarballOf(name);
      expect(files).toEqual(
        expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/index.js']),
      );
      expect(files.filter((file) => /^(src|test|bench)\//.test(file))).toEqual([]);
      expect(files.filter((file) => /\.test\.|tsconfig|tsup\.config|typedoc/.test(file))).toEqual([]);
      expect(
        files.every((file) => /^(dist|bin)\/|^(package\.json|README\.md|LICENSE|CHANGELOG\.md)$/.test(file)),
      ).toBe(true);
    });

    it("ships the repository's MIT license", async () => {
      expect(await readFromTarball(tarballOf(name), 'LICENSE')).toBe(rootLicense);
      expect(rootLicense).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} leadpipe contributors\n/);
    });

    it('has source maps that embed every source, so leaving src/ out loses nothing', async () => {
      const maps = tarballOf(name).files.filter((file) => file.endsWith('.js.map'));
      expect(maps.length).toBeGreaterThan(0);
      for (const map of maps) {
        const parsed = JSON.parse(await readFromTarball(tarballOf(name), map)) as {
          sources: string[];
          sourcesContent?: (string | null)[];
        };
        expect(parsed.sourcesContent?.length, map).toBe(parsed.sources.length);
        expect(parsed.sourcesContent?.every((content) => typeof content === 'string' && content !== '')).toBe(
          true,
        );
      }
    });

    it('has a package.json with no workspace protocol, and every path it names is in the tarball', async () => {
      const text = await readFromTarball(tarballOf(name), 'package.json');
      expect(text).not.toContain('workspace:');
      const manifest = JSON.parse(text) as Manifest;
      // The workspace's source condition points at src/, which is not shipped.
      expect(JSON.stringify(manifest.exports)).not.toContain('@leadpipe/source');
      const paths = [
        manifest.main,
        manifest.types,
        ...Object.values(manifest.bin ?? {}),
        ...Object.values(manifest.exports ?? {}).flatMap((target) =>
          typeof target === 'string' ? [target] : Object.values(target),
        ),
      ].filter((path): path is string => path !== undefined);
      expect(paths.length).toBeGreaterThan(3);
      const missing = paths
        .map((path) => path.replace(/^\.\//, ''))
        .filter((path) => !tarballOf(name).files.includes(path));
      expect(missing).toEqual([]);
      // The published map is the workspace's without its source condition: the same entries, the same targets.
      const withoutSource = Object.fromEntries(
        Object.entries(entry.manifest.exports ?? {}).map(([key, target]) => [
          key,
          typeof target === 'string'
            ? target
            : Object.fromEntries(
                Object.entries(target).filter(([condition]) => condition !== '@leadpipe/source'),
              ),
        ]),
      );
      expect(manifest.exports).toEqual(withoutSource);
    });

    it('says where it comes from: repository with its folder, homepage, bugs, keywords, license, engines', async () => {
      const manifest = await packedManifest(name);
      expect(manifest.repository).toEqual({
        type: 'git',
        url: 'git+https://github.com/leadpipe/leadpipe.git',
        directory: `packages/${entry.folder}`,
      });
      expect(manifest.homepage).toBe(
        `https://github.com/leadpipe/leadpipe/tree/main/packages/${entry.folder}#readme`,
      );
      expect(manifest.bugs?.url).toBe('https://github.com/leadpipe/leadpipe/issues');
      expect(manifest.license).toBe('MIT');
      expect(manifest.keywords).toContain('leadpipe');
      expect(manifest.description?.length).toBeGreaterThan(20);
      expect(manifest.engines?.node).toBe('>=20.19');
    });
  },
);

describe('installing @leadpipe/cli', () => {
  it('does not install the testkit or msw: the testkit is an optional peer (hono comes with `leadpipe serve`)', async () => {
    const cli = await packedManifest('@leadpipe/cli');
    expect(Object.keys(cli.dependencies ?? {})).not.toContain('@leadpipe/testkit');
    expect(cli.peerDependencies?.['@leadpipe/testkit']).toBeDefined();
    expect(cli.peerDependenciesMeta?.['@leadpipe/testkit']?.optional).toBe(true);
    // Walk what installing the CLI installs, through the leadpipe packages it depends on.
    const seen = new Set<string>();
    const queue = ['@leadpipe/cli'];
    const installed = new Set<string>();
    while (queue.length > 0) {
      const next = queue.pop()!;
      if (seen.has(next)) continue;
      seen.add(next);
      const manifest = await packedManifest(next);
      for (const dependency of Object.keys(manifest.dependencies ?? {})) {
        installed.add(dependency);
        if (dependency.startsWith('@leadpipe/')) queue.push(dependency);
      }
      for (const [peer, range] of Object.entries(manifest.peerDependencies ?? {})) {
        // npm installs peers that are not optional.
        if (manifest.peerDependenciesMeta?.[peer]?.optional !== true && range !== undefined) {
          installed.add(peer);
          if (peer.startsWith('@leadpipe/')) queue.push(peer);
        }
      }
    }
    expect(installed.has('@leadpipe/core')).toBe(true);
    expect([...installed].filter((dependency) => /msw|@leadpipe\/testkit/.test(dependency))).toEqual([]);
  });

  async function enrichWithEmulate(project: string): Promise<{ code: number; stderr: string; out: string }> {
    const input = join(project, 'leads.csv');
    const rows = readFileSync(join(root, 'examples/data/leads.csv'), 'utf8').split('\n').slice(0, 6);
    await writeFile(input, `${rows.join('\n')}\n`);
    const out = join(project, 'out', 'leads.enriched.csv');
    const bin = join(project, 'node_modules/@leadpipe/cli/bin/leadpipe.js');
    const result = await node([bin, 'enrich', input, '--emulate', '--quiet', '--out', out], project);
    return { code: result.code, stderr: result.stderr, out };
  }

  it('--emulate without the testkit installed: exit 2, naming the package to install, and writes nothing', async () => {
    expect(existsSync(join(withoutTestkit, 'node_modules/@leadpipe/testkit'))).toBe(false);
    const { code, stderr, out } = await enrichWithEmulate(withoutTestkit);
    expect(stderr).toContain(
      '--emulate needs the vendor emulators of @leadpipe/testkit, which is not installed',
    );
    expect(stderr).toContain('npm install @leadpipe/testkit');
    expect(code).toBe(2);
    expect(existsSync(out)).toBe(false);
  });

  it('runs against the real vendors without the testkit: a missing key is a usage error, not a crash', async () => {
    const input = join(withoutTestkit, 'keys.csv');
    await writeFile(input, 'Email\njane@acme.com\n');
    const bin = join(withoutTestkit, 'node_modules/@leadpipe/cli/bin/leadpipe.js');
    const result = await node([bin, 'enrich', input, '--providers', 'apollo'], withoutTestkit);
    expect(result.stderr).toContain('leadpipe: missing key: set APOLLO_API_KEY');
    expect(result.code).toBe(2);
  });

  it('--emulate with the testkit installed beside it enriches the file', async () => {
    const { code, stderr, out } = await enrichWithEmulate(full);
    expect([0, 3], stderr).toContain(code);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    expect(lines[0]).toContain('title__source');
    expect(lines.length).toBeGreaterThan(1);
  });
});

describe('require() from CommonJS', () => {
  /** What `require()` (from a `.cjs` file) and `import()` give for each specifier, by export name. */
  async function loadBothWays(
    project: string,
    specifiers: readonly string[],
  ): Promise<{ required: Record<string, string[]>; imported: Record<string, string[]> }> {
    const list = JSON.stringify(specifiers);
    await writeFile(
      join(project, 'require-all.cjs'),
      `const out = {};\nfor (const specifier of ${list}) out[specifier] = Object.keys(require(specifier)).filter((key) => key !== '__esModule' && key !== 'module.exports').sort();\nprocess.stdout.write(JSON.stringify(out));\n`,
    );
    await writeFile(
      join(project, 'import-all.mjs'),
      `const out = {};\nfor (const specifier of ${list}) out[specifier] = Object.keys(await import(specifier)).sort();\nprocess.stdout.write(JSON.stringify(out));\n`,
    );
    const required = await node(['require-all.cjs'], project);
    expect(required.stderr).not.toMatch(/ERR_|Error:/);
    expect(required.code).toBe(0);
    const imported = await node(['import-all.mjs'], project);
    expect(imported.code).toBe(0);
    return { required: JSON.parse(required.stdout), imported: JSON.parse(imported.stdout) };
  }

  it('loads every entry of every built package, with the same exports as import()', async () => {
    const specifiers = (
      await Promise.all(packages.map((entry) => packedManifest(entry.manifest.name)))
    ).flatMap(entryPoints);
    expect(specifiers).toEqual(
      expect.arrayContaining(['@leadpipe/core', '@leadpipe/core/adapter-kit', '@leadpipe/cli']),
    );
    expect(specifiers).toHaveLength(packages.length + 1);
    const { required, imported } = await loadBothWays(full, specifiers);
    expect(required).toEqual(imported);
    for (const specifier of specifiers) expect(required[specifier]?.length, specifier).toBeGreaterThan(0);
    expect(required['@leadpipe/core']).toContain('createLeadPipeline');
    expect(required['@leadpipe/core/adapter-kit']).toContain('defineProvider');
    expect(required['@leadpipe/cli']).toContain('runCli');
    expect(required['@leadpipe/testkit']).toContain('startEmulators');
  });

  it('loads @leadpipe/cli without the testkit installed', async () => {
    const { required } = await loadBothWays(withoutTestkit, ['@leadpipe/cli']);
    expect(required['@leadpipe/cli']).toContain('runCli');
  });
});

describe('a Node-only TypeScript consumer of @leadpipe/cli', () => {
  const consumer = `import {
  type CliIo,
  EXIT_CODES,
  type EmulatedVendors,
  emulatorOptions,
  type ExitCode,
  parseCommandLine,
  runCli,
} from '@leadpipe/cli';

const io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
const code: ExitCode = await runCli(['--version'], io);
const usage: number = EXIT_CODES.usage;
const options = emulatorOptions({ vendors: ['apollo'] });
const vendors: readonly 'apollo'[] | undefined = options.vendors;
const command = parseCommandLine(['enrich', 'leads.csv'], process.cwd());
declare const running: EmulatedVendors;
await running.close();
console.log(code, usage, vendors, command.kind);
`;

  async function typecheck(
    project: string,
    source = consumer,
    folder = 'consumer',
  ): Promise<{ code: number; output: string }> {
    const dir = join(project, folder);
    await mkdir(dir, { recursive: true });
    if (!existsSync(join(project, 'node_modules/@types/node'))) await installNodeTypes(project);
    await writeFile(
      join(dir, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    await writeFile(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2023'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          types: ['node'],
          strict: true,
          skipLibCheck: false,
          noEmit: true,
        },
        include: ['index.ts'],
      }),
    );
    await writeFile(join(dir, 'index.ts'), source);
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    const result = await node([tsc, '-p', 'tsconfig.json', '--pretty', 'false'], dir);
    return { code: result.code, output: `${result.stdout}${result.stderr}` };
  }

  it('typechecks with 0 errors (strict, no DOM lib, skipLibCheck off) with the testkit installed', async () => {
    const { code, output } = await typecheck(full);
    expect(output).toBe('');
    expect(code).toBe(0);
  }, 120_000);

  it('typechecks with 0 errors without the testkit installed', async () => {
    const { code, output } = await typecheck(withoutTestkit);
    expect(output).toBe('');
    expect(code).toBe(0);
  }, 120_000);

  it('fails on a type error, so a clean result means something', async () => {
    const wrong = `${consumer}const wrong: string = EXIT_CODES.usage;\nconsole.log(wrong);\n`;
    const { code, output } = await typecheck(full, wrong, 'consumer-with-an-error');
    expect(output).toMatch(
      /index\.ts\(\d+,\d+\): error TS2322: Type '\w+' is not assignable to type 'string'/,
    );
    expect(code).not.toBe(0);
  }, 120_000);
});
