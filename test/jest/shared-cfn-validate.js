// aws-cdk-lib's built-in validation and the Control Tower checks both use
// `@aws/cloudformation-validate`, a WebAssembly engine whose first use in a
// process costs seconds. jest gives every test file its own module registry,
// so each file that synthesizes would load the module again and build its own
// engine (aws-cdk-lib keeps one per registry: about 4 s of every file's first
// synth). This shim (mapped in jest.config.js) hands every file the one copy
// Node's own require has loaded in this worker, the copy a `cdk synth` process
// uses, and builds each distinct CompositeEngine configuration once per
// worker. aws-cdk-lib frees an engine when it builds a larger one; a shared
// engine outlives that (its free() is a no-op here) and is freed with the
// worker. The engine is a pure function of its configuration and the template
// it is given, so sharing it changes no result.
// The environment (single-realm-environment.js) provides Node's require.
const { createHash } = require('node:crypto');

const nativeRequire = globalThis[Symbol.for('three-tier.native-require')];
if (typeof nativeRequire !== 'function') throw new Error('shared-cfn-validate needs test/jest/single-realm-environment.js');
const cdkLib = require('node:path').dirname(require.resolve('aws-cdk-lib/package.json'));
const real = nativeRequire(nativeRequire.resolve('@aws/cloudformation-validate', { paths: [cdkLib] }));

const ENGINES = Symbol.for('three-tier.shared-composite-engines');
const engines = (real[ENGINES] ??= new Map());

function SharedCompositeEngine(config) {
  const key = createHash('sha256').update(JSON.stringify(config ?? {})).digest('hex');
  let engine = engines.get(key);
  if (!engine) {
    engine = new real.CompositeEngine(config);
    engines.set(key, engine);
  }
  return {
    validateTemplate: (...a) => engine.validateTemplate(...a),
    validateStandard: (...a) => engine.validateStandard(...a),
    validateDetailed: (...a) => engine.validateDetailed(...a),
    validateAwsCliCommand: (...a) => engine.validateAwsCliCommand(...a),
    listRules: () => engine.listRules(),
    engineName: () => engine.engineName(),
    free: () => undefined,
  };
}

module.exports = { ...real, CompositeEngine: SharedCompositeEngine };
