// custom-elements.json: what editors, Storybook's argument tables and framework tooling read about
// the elements. Generated from the components' JSDoc headers: `npm run manifest -w @patchbay/widget`.
// `npm run check:manifest` (root) fails when the committed file is behind the sources.
import path from 'node:path';

/**
 * Elements register with `ConnectButton.define('connect-button')` (a guarded define on the base
 * class, see internal/patchbay-element.ts), which the analyzer does not recognise as a
 * `customElements.define()` call. This plugin records those calls as definitions so each class
 * gets its `tagName`.
 */
function patchbayDefineCalls() {
  return {
    name: 'patchbay-define-calls',
    analyzePhase({ ts, node, moduleDoc }) {
      if (node.kind !== ts.SyntaxKind.CallExpression) return;
      const callee = node.expression;
      const [tagArgument] = node.arguments;
      if (!ts.isPropertyAccessExpression(callee) || callee.name.text !== 'define' || !ts.isIdentifier(callee.expression)) return;
      if (!tagArgument || !ts.isStringLiteral(tagArgument) || !tagArgument.text.includes('-')) return;
      const className = callee.expression.text;
      moduleDoc.exports = [
        ...(moduleDoc.exports ?? []),
        {
          kind: 'custom-element-definition',
          name: tagArgument.text,
          declaration: { name: className, module: moduleOf(ts, node.getSourceFile(), className, moduleDoc.path) },
        },
      ];
    },
  };
}

/** The module a class comes from: the relative import that brings it in, else this module. */
function moduleOf(ts, sourceFile, className, currentPath) {
  for (const statement of sourceFile.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
    const bindings = statement.importClause?.namedBindings;
    const named = bindings && ts.isNamedImports(bindings) ? bindings.elements.some((element) => element.name.text === className) : false;
    const isDefault = statement.importClause?.name?.text === className;
    if ((named || isDefault) && statement.moduleSpecifier.text.startsWith('.')) {
      return path.posix.join(path.posix.dirname(currentPath), statement.moduleSpecifier.text).replace(/\.js$/, '.ts');
    }
  }
  return currentPath;
}

/**
 * Only the documented API is public (STYLE.md): drops private and protected members, public
 * members without a JSDoc line (controllers the element holds for itself, such as `flow` and
 * `i18n`), and the base class's static helpers from each element's entry.
 */
function publicApiOnly() {
  return {
    name: 'patchbay-public-api-only',
    packageLinkPhase({ customElementsManifest }) {
      for (const module of customElementsManifest.modules ?? []) {
        for (const declaration of module.declarations ?? []) {
          if (declaration.kind !== 'class' || !declaration.members) continue;
          declaration.members = declaration.members
            .filter((member) => !member.privacy || member.privacy === 'public')
            .filter((member) => Boolean(member.description) || Boolean(member.attribute))
            // `define()` and `dependencies` are the base class's business, not each element's table.
            .filter((member) => !(declaration.tagName && member.static));
        }
      }
    },
  };
}

/**
 * Modules in path order. The analyzer lists them in the order the file system returns the globbed
 * files, which differs between two checkouts of the same commit, so the committed file would look
 * stale on a fresh clone.
 */
function modulesInPathOrder() {
  return {
    name: 'patchbay-modules-in-path-order',
    packageLinkPhase({ customElementsManifest }) {
      customElementsManifest.modules?.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    },
  };
}

export default {
  // The public surface only: the elements, their base class (inherited members) and the entry.
  globs: ['src/index.ts', 'src/components/*/*.ts', 'src/internal/patchbay-element.ts'],
  exclude: ['src/**/*.test.ts', 'src/**/*.styles.ts'],
  outdir: '.',
  litelement: true,
  // The `customElements` field is written by hand in package.json; the check writes to a temp dir.
  packagejson: false,
  plugins: [patchbayDefineCalls(), publicApiOnly(), modulesInPathOrder()],
};
