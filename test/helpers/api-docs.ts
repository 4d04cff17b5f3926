// The API reference (`npm run docs`) is built from doc comments: this finds the public exports
// that have none, and the functions, classes and class methods that show no `@example`. One
// checker for the real entry points and for the fixture that proves it reports a gap.
import { readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

export interface ApiDocsReport {
  /** Every export and class member looked at, as `name` or `Class.member`. */
  checked: string[];
  /** `name: what is missing`, one line per gap. */
  offenders: string[];
  /** The code of every ```ts block in their `@example`s. */
  examples: { name: string; code: string }[];
}

/** The .ts sources behind the package's "exports" (dist/X.js is built from lib/X.ts). */
export function packageEntryPoints(root: string): string[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
  const targets = Object.values(pkg.exports).flatMap((target) =>
    typeof target === 'string' ? [target] : Object.values(target as Record<string, string>),
  );
  const scripts = targets.filter((t) => /^\.\/dist\/.*\.js$/.test(t));
  return [...new Set(scripts.map((t) => resolve(root, t.replace(/^\.\/dist\//, 'lib/').replace(/\.js$/, '.ts'))))];
}

/** A program over `entries` with the project's compiler options (tsconfig.json in `root`). */
export function projectProgram(root: string, entries: string[]): ts.Program {
  const configPath = join(root, 'tsconfig.json');
  const config = ts.readConfigFile(configPath, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, dirname(configPath));
  return ts.createProgram({ rootNames: entries, options: { ...parsed.options, noEmit: true } });
}

/** A program over in-memory sources (`files`: absolute path -> text), for fixtures. */
export function inMemoryProgram(files: Record<string, string>): ts.Program {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    noEmit: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, getSourceFile } = host;
  const given = (f: string) => Object.hasOwn(files, f);
  // The fixture's files from memory, TypeScript's own lib files from disk.
  host.fileExists = (f) => given(f) || fileExists.call(host, f);
  host.directoryExists = (d) => Object.keys(files).some((f) => f.startsWith(`${d}/`)) || ts.sys.directoryExists(d);
  host.readFile = (f) => (given(f) ? files[f] : readFile.call(host, f));
  host.getSourceFile = (f, version, ...rest) => (given(f) ? ts.createSourceFile(f, files[f]!, version, true) : getSourceFile.call(host, f, version, ...rest));
  return ts.createProgram({ rootNames: Object.keys(files), options, host });
}

const docOf = (symbol: ts.Symbol, checker: ts.TypeChecker) => ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
const tagsOf = (symbol: ts.Symbol, checker: ts.TypeChecker) => symbol.getJsDocTags(checker).map((t) => t.name);
/** The fenced TypeScript blocks of a symbol's `@example`s, as TypeDoc renders them. */
const examplesOf = (symbol: ts.Symbol, checker: ts.TypeChecker) =>
  symbol
    .getJsDocTags(checker)
    .filter((t) => t.name === 'example')
    .flatMap((t) => [...ts.displayPartsToString(t.text).matchAll(/```ts\n([^]*?)```/g)].map((m) => m[1]!));

function isCallable(symbol: ts.Symbol, checker: ts.TypeChecker): boolean {
  if (symbol.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Class)) return true;
  // `export const f = (...) => ...` is a function to its callers too.
  return (symbol.flags & ts.SymbolFlags.Variable) !== 0 && checker.getTypeOfSymbol(symbol).getCallSignatures().length > 0;
}

/** `constructor(readonly code: number)`: a property declared as a constructor parameter. */
const isParameterProperty = (d: ts.Declaration): d is ts.ParameterDeclaration & { parent: ts.ConstructorDeclaration } =>
  ts.isParameter(d) && ts.isConstructorDeclaration(d.parent);

/** The members of a class that a consumer sees, declared in a class or interface body in `own` files. */
function publicMembers(cls: ts.Symbol, checker: ts.TypeChecker, own: (file: string) => boolean) {
  const instance = checker.getDeclaredTypeOfSymbol(cls);
  const statics = checker.getTypeOfSymbol(cls);
  const members = [...checker.getPropertiesOfType(instance), ...checker.getPropertiesOfType(statics).filter((m) => m.name !== 'prototype')];
  const out: { owner: string; member: ts.Symbol; isMethod: boolean }[] = [];
  for (const member of members) {
    const decl = member.declarations?.find(
      (d) => own(d.getSourceFile().fileName) && (ts.isClassLike(d.parent) || ts.isInterfaceDeclaration(d.parent) || isParameterProperty(d)),
    );
    if (decl === undefined) continue; // inherited from Node, or derived (Namespace's operation table)
    if (ts.getCombinedModifierFlags(decl) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
    if ('name' in decl && decl.name !== undefined && ts.isPrivateIdentifier(decl.name as ts.Node)) continue;
    if (tagsOf(member, checker).includes('internal')) continue;
    // Named after the class that declares it (an inherited member is reported once); members of
    // interfaces merged into the class under the class's own name.
    const declaringClass = isParameterProperty(decl) ? decl.parent.parent : decl.parent;
    const owner = ts.isClassLike(declaringClass) ? (declaringClass.name?.text ?? cls.name) : cls.name;
    out.push({ owner, member, isMethod: ts.isMethodDeclaration(decl) || ts.isMethodSignature(decl) });
  }
  return out;
}

/**
 * Checks every export of `entries`: each needs a doc comment; functions and classes an
 * `@example` too; a class's public members declared in `own` files need a doc comment, its
 * methods an `@example` (well-known symbol methods such as `[Symbol.asyncDispose]` a doc comment).
 * `withExample` names other exports (the main option and result types) that need one too.
 */
export function checkApiDocs(program: ts.Program, entries: string[], own: (file: string) => boolean, withExample: readonly string[] = []): ApiDocsReport {
  const checker = program.getTypeChecker();
  const checked = new Set<string>();
  const offenders = new Set<string>();
  const examples = new Map<string, string[]>();
  const need = (name: string, symbol: ts.Symbol, example: boolean) => {
    checked.add(name);
    const code = examplesOf(symbol, checker);
    if (code.length > 0) examples.set(name, code);
    if (docOf(symbol, checker) === '') offenders.add(`${name}: no doc comment`);
    if (example && code.length === 0) offenders.add(`${name}: no @example with a \`\`\`ts block`);
  };
  for (const entry of entries) {
    const source = program.getSourceFile(entry);
    if (source === undefined) throw new Error(`${entry} is not in the program`);
    const moduleSymbol = checker.getSymbolAtLocation(source);
    if (moduleSymbol === undefined) throw new Error(`${entry} is not a module`);
    for (const exported of checker.getExportsOfModule(moduleSymbol)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      if (symbol.declarations === undefined) throw new Error(`${exported.name}: export does not resolve to a declaration`);
      need(exported.name, symbol, isCallable(symbol, checker) || withExample.includes(exported.name));
      if (!(symbol.flags & ts.SymbolFlags.Class)) continue;
      for (const { owner, member, isMethod } of publicMembers(symbol, checker, own)) {
        need(`${owner}.${member.name.replace(/^__@(\w+)@\d+$/, '[Symbol.$1]')}`, member, isMethod && !member.name.startsWith('__@'));
      }
    }
  }
  for (const name of withExample) if (!checked.has(name)) offenders.add(`${name}: not exported`);
  return {
    checked: [...checked].sort(),
    offenders: [...offenders].sort(),
    examples: [...examples].sort(([a], [b]) => (a < b ? -1 : 1)).flatMap(([name, code]) => code.map((c) => ({ name, code: c }))),
  };
}

/**
 * Type-checks every example as a module of its own that imports the whole API from `entry`
 * (`root`/lib/index.ts), against the project's compiler options. `prelude` declares the
 * globals examples use without defining them (`pb`, `spec` ...). Returns `name: error` lines.
 */
export function checkExamples(root: string, entry: string, exports: string[], examples: { name: string; code: string }[], prelude: string): string[] {
  const dir = join(root, '.api-examples');
  const importPath = `./${relative(dir, entry).replace(/\.ts$/, '.js')}`;
  const files = new Map<string, string>([[join(dir, 'prelude.ts'), prelude.replaceAll('{{API}}', importPath)]]);
  const owner = new Map<string, string>();
  examples.forEach(({ name, code }, i) => {
    const file = join(dir, `example-${i}.ts`);
    files.set(file, `import { ${exports.join(', ')} } from '${importPath}';\n${code}\nexport {};\n`);
    owner.set(file, name);
  });
  const config = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const compilerOptions = { ...options, noEmit: true, noUnusedLocals: false, rootDir: undefined };
  const host = ts.createCompilerHost(compilerOptions);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (f) => files.has(f) || fileExists.call(host, f);
  host.readFile = (f) => files.get(f) ?? readFile.call(host, f);
  host.getSourceFile = (f, version, ...rest) => (files.has(f) ? ts.createSourceFile(f, files.get(f)!, version, true) : getSourceFile.call(host, f, version, ...rest));
  const program = ts.createProgram({ rootNames: [...files.keys()], options: compilerOptions, host });
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file !== undefined && files.has(d.file.fileName))
    .map((d) => `${owner.get(d.file!.fileName) ?? 'prelude'}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
}
