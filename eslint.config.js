// @ts-check
import js from '@eslint/js'
import neostandard from 'neostandard'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'cdk.out/', 'coverage/', '.tap/', 'node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // The house style (no semicolons, space before function parens, 2 spaces, single quotes),
  // as fastify/demo and Fastify core use it; `eslint --fix` formats.
  ...neostandard({ ts: true, noJsx: true }),
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } } },
  { files: ['**/*.mjs'], languageOptions: { globals: { process: 'readonly', console: 'readonly' } } },
  {
    // Type-aware rules: a promise nobody awaits or handles, or one passed where a callback's
    // result is ignored, loses its rejection.
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // tap tracks the subtests a file declares (`t.test(...)` at the top level is its idiom).
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: '@tapjs/test', name: 'test' }] }],
      '@typescript-eslint/no-misused-promises': 'error'
    }
  },
  // A CDK construct registers itself in the tree: `new Alarm(this, ...)` is used for that alone.
  { files: ['infra/**'], rules: { 'no-new': 'off' } },
  {
    rules: {
      // A constant `as const` object and its union type share a name (house style); tsc reports real redeclarations.
      '@typescript-eslint/no-redeclare': 'off',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // `Type` is one object holding every TypeBox builder, so a bundle keeps them all (46 KiB); the namespace keeps only those used (8 KiB).
      'no-restricted-syntax': ['error',
        { selector: 'TSEnumDeclaration', message: 'Use an `as const` object and a derived union type.' },
        { selector: "ImportDeclaration[source.value='@sinclair/typebox'] > ImportSpecifier[imported.name='Type']", message: "Use `import * as Type from '@sinclair/typebox'`: the bundle then keeps only the builders it uses." }
      ]
    }
  }
)
