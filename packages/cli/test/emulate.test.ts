import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMissingPackage, startEmulatedVendors } from '../src/emulate.js';

const run = promisify(execFile);

/**
 * What Node itself throws when `script` (which loads something that fails)
 * runs in `cwd`, with no NODE_PATH: only what is installed under `cwd` resolves.
 */
async function nodeError(cwd: string, args: readonly string[]): Promise<{ code: unknown; message: unknown }> {
  const printer = 'const show=(e)=>process.stdout.write(JSON.stringify({code:e.code,message:e.message}));';
  const { stdout } = await run(process.execPath, [...args.slice(0, -1), `${printer}${args.at(-1)}`], {
    cwd,
    env: { PATH: process.env.PATH ?? '' },
  });
  return JSON.parse(stdout) as { code: unknown; message: unknown };
}

describe('isMissingPackage', () => {
  let outside: string;
  beforeAll(async () => {
    // A folder with no node_modules above it; its own holds a testkit whose dependency (msw) is missing.
    outside = await mkdtemp(join(tmpdir(), 'leadpipe-missing-'));
    await writeFile(join(outside, 'package.json'), '{}');
    const broken = join(outside, 'broken');
    await mkdir(join(broken, 'node_modules/@leadpipe/testkit'), { recursive: true });
    await writeFile(join(broken, 'package.json'), '{}');
    await writeFile(
      join(broken, 'node_modules/@leadpipe/testkit/package.json'),
      JSON.stringify({ name: '@leadpipe/testkit', type: 'module', exports: './index.js' }),
    );
    await writeFile(join(broken, 'node_modules/@leadpipe/testkit/index.js'), "export * from 'msw';\n");
  });
  afterAll(async () => {
    await rm(outside, { recursive: true, force: true });
  });

  it('recognises the testkit missing, as import() and require() report it', async () => {
    const imported = await nodeError(outside, [
      '--input-type=module',
      '-e',
      "await import('@leadpipe/testkit').then(()=>show({}),show);",
    ]);
    expect(imported.code).toBe('ERR_MODULE_NOT_FOUND');
    expect(isMissingPackage(imported, '@leadpipe/testkit')).toBe(true);
    const required = await nodeError(outside, [
      '-e',
      "try{require('@leadpipe/testkit');show({})}catch(e){show(e)}",
    ]);
    expect(required.code).toBe('MODULE_NOT_FOUND');
    expect(isMissingPackage(required, '@leadpipe/testkit')).toBe(true);
  });

  it('does not take a missing dependency of an installed testkit (a broken install) for the testkit missing', async () => {
    const error = await nodeError(join(outside, 'broken'), [
      '--input-type=module',
      '-e',
      "await import('@leadpipe/testkit').then(()=>show({}),show);",
    ]);
    expect(error.code).toBe('ERR_MODULE_NOT_FOUND');
    expect(error.message).toContain('@leadpipe/testkit');
    expect(isMissingPackage(error, 'msw')).toBe(true);
    expect(isMissingPackage(error, '@leadpipe/testkit')).toBe(false);
  });

  it('is false for anything that is not a module-not-found error', () => {
    expect(isMissingPackage(new Error("Cannot find package '@leadpipe/testkit'"), '@leadpipe/testkit')).toBe(
      false,
    );
    expect(isMissingPackage(undefined, '@leadpipe/testkit')).toBe(false);
    expect(isMissingPackage("'@leadpipe/testkit'", '@leadpipe/testkit')).toBe(false);
  });
});

describe('startEmulatedVendors', () => {
  it('serves only the vendors asked for, and stops them on close()', async () => {
    const vendors = await startEmulatedVendors({ vendors: ['apollo'] });
    try {
      expect(Object.keys(vendors.urls)).toEqual(['apollo']);
      expect(vendors.credentials.apollo).toBeDefined();
      const baseUrl = vendors.urls.apollo?.baseUrl;
      expect(baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+/);
    } finally {
      await vendors.close();
    }
    await expect(fetch(`${vendors.urls.apollo?.baseUrl}/`)).rejects.toThrow();
  });
});
