import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Every README (and guide) a user reads, with its TypeScript snippets: the root README, every guide in docs/ and
 * every package's README, found on disk so a new package is checked from its first commit.
 */
const DOCUMENTS = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
  ...readdirSync(join(root, 'packages'))
    .map((name) => `packages/${name}/README.md`)
    .filter((document) => existsSync(join(root, document))),
];

interface Snippet {
  readonly document: string;
  /** Line of the opening fence. */
  readonly line: number;
  readonly code: string;
}

function snippetsOf(document: string): Snippet[] {
  const lines = readFileSync(join(root, document), 'utf8').split('\n');
  const snippets: Snippet[] = [];
  for (let index = 0; index < lines.length; index++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[index] ?? '')) continue;
    const start = index;
    const body: string[] = [];
    for (index += 1; index < lines.length && !/^```\s*$/.test(lines[index] ?? ''); index++)
      body.push(lines[index] ?? '');
    snippets.push({ document, line: start + 1, code: body.join('\n') });
  }
  return snippets;
}

const snippets = DOCUMENTS.flatMap(snippetsOf);

describe('README snippets', () => {
  it('there are snippets to check', () => {
    expect(snippets.length).toBeGreaterThan(15);
  });

  it('every ```ts snippet compiles under strict TypeScript, with no undefined name', () => {
    // Each snippet is its own module (top-level await allowed), resolved like the repository's own code.
    // Inside the CLI package, which depends on every other package, so each `@leadpipe/*` import resolves.
    // A snippet that imports what the CLI lacks (a package it does not depend on, or a peer such as ioredis) is
    // checked inside the first package that resolves every import, as in a user's project that installed them.
    const config = ts.getParsedCommandLineOfConfigFile(
      join(root, 'tsconfig.base.json'),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: () => undefined,
      },
    );
    const homes = ['cli', ...readdirSync(join(root, 'packages')).filter((name) => name !== 'cli')].map(
      (name) => join(root, 'packages', name, 'node_modules/.cache/readme-snippets'),
    );
    for (const home of homes) rmSync(home, { recursive: true, force: true });
    const homeOf = (code: string): string => {
      const imports = ts.preProcessFile(code, true, true).importedFiles.map((file) => file.fileName);
      const resolves = (home: string) =>
        imports.every(
          (name) =>
            ts.resolveModuleName(name, join(home, 'snippet.ts'), config?.options ?? {}, ts.sys)
              .resolvedModule !== undefined,
        );
      return homes.find(resolves) ?? (homes[0] as string);
    };
    const files = new Map<string, Snippet>();
    snippets.forEach((snippet, index) => {
      const dir = homeOf(snippet.code);
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `snippet-${index}.ts`);
      writeFileSync(file, `${snippet.code}\nexport {};\n`);
      files.set(file, snippet);
    });
    const program = ts.createProgram([...files.keys()], {
      ...config?.options,
      noEmit: true,
      declaration: false,
      sourceMap: false,
      strict: true,
      noUnusedLocals: false,
    });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((diagnostic) => diagnostic.file !== undefined && files.has(diagnostic.file.fileName))
      .map((diagnostic) => {
        const file = diagnostic.file as ts.SourceFile;
        const snippet = files.get(file.fileName) as Snippet;
        const { line } = file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
        return `${snippet.document}:${snippet.line + 1 + line}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
      });
    expect(problems, `in ${homes.map((home) => relative(root, home)).join(', ')}`).toEqual([]);
  }, 240_000);

  it('no snippet puts a value into a URL without encoding it', () => {
    const raw = snippets.flatMap((snippet) =>
      snippet.code
        .split('\n')
        .map((text, index) => ({ text, at: `${snippet.document}:${snippet.line + 1 + index}` }))
        .filter(({ text }) => /[?&][\w.-]+=\$\{(?!encodeURIComponent\()/.test(text))
        .map(({ at, text }) => `${at}: ${text.trim()}`),
    );
    expect(raw).toEqual([]);
  });
});
