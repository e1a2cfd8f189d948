import { cdk8s, javascript } from 'projen';
import { UpdateSnapshot } from 'projen/lib/javascript';

const project = new cdk8s.ConstructLibraryCdk8s({
  name: 'cdk8s-korean-llm',
  description:
    'cdk8s constructs for Korean LLM training pipelines on Kubernetes: Kubeflow PyTorchJob stages (CPT, SFT, RLHF), an Argo Workflows DAG, storage, monitoring and serving',
  author: 'cdk8s-korean-llm maintainers',
  authorAddress: 'maintainers@cdk8s-korean-llm.invalid',
  repositoryUrl: 'https://github.com/cdk8s-korean-llm/cdk8s-korean-llm.git',
  license: 'Apache-2.0',
  defaultReleaseBranch: 'main',
  keywords: ['cdk8s', 'kubernetes', 'kubeflow', 'pytorchjob', 'argo-workflows', 'llm', 'korean', 'unsloth', 'trl'],

  cdk8sVersion: '2.70.0',
  constructsVersion: '10.3.0',
  jsiiVersion: '~6.0.0',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  peerDeps: ['cdk8s-plus-28@^2.5.6'],
  devDeps: [
    'cdk8s-cli@^2.207.0',
    'ajv@^8.17.1',
    'js-yaml@^4.1.0',
    '@types/js-yaml@^4.0.9',
    'kubernetes-models@^4.5.1',
  ],
  entrypoint: 'lib/src/index.js',

  tsconfig: {
    compilerOptions: { rootDir: '.' },
    include: ['src/**/*.ts', 'imports/**/*.ts'],
  },
  tsconfigDev: {
    compilerOptions: {},
    include: ['../examples/**/*.ts', '../bench/**/*.ts', '../scripts/**/*.ts'],
  },
  jestOptions: {
    updateSnapshot: UpdateSnapshot.NEVER,
    // a run that finds no test fails instead of passing
    passWithNoTests: false,
    jestConfig: {
      // anchored to the project: an unanchored '/lib/' matches every path of a checkout under a
      // folder named lib, and jest then finds no test at all
      testPathIgnorePatterns: ['<rootDir>/node_modules/', '<rootDir>/cdk8s.out/', '<rootDir>/lib/', '<rootDir>/dist/'],
      coveragePathIgnorePatterns: ['<rootDir>/node_modules/', '<rootDir>/cdk8s.out/', '<rootDir>/lib/', '<rootDir>/dist/'],
      watchPathIgnorePatterns: ['<rootDir>/node_modules/'],
      // the CRD validators compile multi-megabyte schemas: give slow machines room
      testTimeout: 120_000,
    },
  },
  tsJestOptions: {
    transformOptions: { isolatedModules: true },
  },
  eslintOptions: {
    dirs: ['src'],
    devdirs: ['test', 'examples', 'bench', 'scripts'],
    ignorePatterns: ['imports/', '*.d.ts', 'node_modules/', 'lib/', 'cdk8s.out/', 'dist/'],
  },
  // jsii's Python packaging needs PyPI; the package is published to npm only
  publishToPypi: undefined,
  githubOptions: { mergify: false },
  release: false,
});

project.package.addField('types', 'lib/src/index.d.ts');

// The synth output of the examples: not projen's dist/ (cdk8s-cli empties its output folder).
project.gitignore.exclude('/cdk8s.out/', '/.contract-env/');
project.npmignore?.exclude('/cdk8s.out/', '/examples/', '/bench/', '/scripts/', '/python/', '/cdk8s.yaml', '/.ci/');
// The package is lib/ and .jsii: not the TypeScript of imports/ (compiled into lib/imports), the docs,
// the test dumps or the examples' build. API.md documents the root module only (the `kubeflow`
// submodule, the generated PyTorchJob L1 kept for escape hatches, is left out of it).
project.gitignore.exclude('/.synth/');
project.npmignore?.exclude('/imports/', '/docs/', '/API.md', '/.contract-env/', '/.synth/');
project.tasks.tryFind('docgen')?.reset('jsii-docgen -o API.md --submodule root');

// Regenerate imports/ from the upstream CRDs listed in cdk8s.yaml. Manual only: never part of a build.
project.addTask('import', {
  description: 'Regenerate imports/ with cdk8s import from the CRDs listed in cdk8s.yaml (needs ../shared/crds)',
  exec: 'cdk8s import --output imports',
});

// The trainer contract: one TypeScript module is the source; the trainer reads the JSON.
const contract = project.addTask('contract', {
  description: 'Write python/korean_llm_trainer/contract.json from src/trainer-contract.ts',
  exec: 'ts-node --project test/tsconfig.json scripts/write-contract.ts',
});
project.preCompileTask.spawn(contract);

// npm test: jest (which also dumps every stage's env for the Python contract test), eslint, then Python.
project.testTask.env('KOREAN_LLM_ENV_DIR', '.contract-env');
project.testTask.exec('python3 -m unittest discover -s python -t python');

// Regenerate test/schemas/ (the schemas the tests validate against) from the upstream CRDs and
// Kubernetes definitions in ../shared/crds. Manual only: never part of a build or a test.
project.addTask('schemas', {
  description: 'Regenerate test/schemas/ from the upstream CRDs and Kubernetes 1.28 definitions (needs ../shared/crds)',
  exec: 'ts-node --project test/tsconfig.json scripts/generate-schemas.ts',
});

project.addTask('synth', {
  description: 'Synthesize every example into cdk8s.out/',
  exec: 'cdk8s synth',
});

project.addTask('bench', {
  description: 'require() and whole-process synthesis of 1-20 pipelines and 100 in one chart, beside cdk8s-plus-28 (prints figures and ratios)',
  exec: 'ts-node --transpile-only --project test/tsconfig.json bench/synth-bench.ts',
});

project.synth();
