// aws-cdk-lib's built-in validation and the Control Tower checks both use
// `@aws/cloudformation-validate`, a WebAssembly engine whose first use in a
// process costs seconds. jest gives every test file its own module registry,
// so each file that synthesizes would load and initialise it again. This shim
// (mapped in jest.config.js) hands every file the one copy Node's own require
// has loaded in this worker, the same copy a `cdk synth` process uses. The
// environment (single-realm-environment.js) provides Node's require.
const nativeRequire = globalThis[Symbol.for('three-tier.native-require')];
if (typeof nativeRequire !== 'function') throw new Error('shared-cfn-validate needs test/jest/single-realm-environment.js');
const cdkLib = require.resolve('aws-cdk-lib/package.json');

module.exports = nativeRequire(nativeRequire.resolve('@aws/cloudformation-validate', { paths: [require('path').dirname(cdkLib)] }));
