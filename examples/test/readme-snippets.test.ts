import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Every README (and guide) a user reads, with its TypeScript snippets. */
const DOCUMENTS = [
  'README.md',
  'docs/adding-a-vendor.md',
  ...['core', 'cli', 'crm-hubspot', 'crm-salesforce', 'provider-apollo', 'provider-clearbit', 'testkit'].map(
    (name) => `packages/${name}/README.md`,
  ),
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

/**
 * The documents whose snippets are checked to compile. The other READMEs
 * still have fragments that lean on names of an earlier snippet (or of the
 * reader's code); add each here once its snippets are whole programs.
 */
const COMPILED = new Set([
  'README.md',
  'packages/cli/README.md',
  'packages/crm-hubspot/README.md',
  'packages/provider-clearbit/README.md',
]);

describe('README snippets', () => {
  it('there are snippets to check', () => {
    expect(snippets.length).toBeGreaterThan(15);
  });

  it('every ```ts snippet of the checked READMEs compiles under strict TypeScript, with no undefined name', () => {
    // Each snippet is its own module (top-level await allowed), resolved like the repository's own code.
    // Inside the CLI package, which depends on every other package, so each `@leadpipe/*` import resolves.
    const dir = join(root, 'packages/cli/node_modules/.cache/readme-snippets');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const files = new Map<string, Snippet>();
    snippets.forEach((snippet, index) => {
      if (!COMPILED.has(snippet.document)) return;
      const file = join(dir, `snippet-${index}.ts`);
      writeFileSync(file, `${snippet.code}\nexport {};\n`);
      files.set(file, snippet);
    });
    const config = ts.getParsedCommandLineOfConfigFile(
      join(root, 'tsconfig.base.json'),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: () => undefined,
      },
    );
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
    expect(problems, `in ${relative(root, dir)}`).toEqual([]);
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
