// A jest test environment that runs test files in Node's own realm, as
// `node --test` did, instead of a fresh vm context per file.
//
// Why: jest's default node environment gives every test file its own realm
// (its own Array, Object, Error ...). Values made by Node's core modules (an
// array from fs.readdirSync, an error from fs) then fail `assert.deepStrictEqual`
// and `instanceof` checks against values made in the test, and libraries that
// test `err instanceof Error` behave differently under test than in production.
// Our code runs in one realm in production; the tests should too.
//
// How: the same approach as jest-environment-node-single-context (MIT, Klaus
// Reimer), adapted to jest 30, which compiles modules with
// vm.compileFunction({ parsingContext }): for this environment's context the
// module is compiled in the current (main) context. Module registries stay per
// test file (jest's own require), so files remain isolated from each other's
// module state; globals are Node's own. Whatever a test file adds to the global
// object (aws-cdk-lib keeps its token map under a global symbol, jest its
// `expect`) is removed when the file ends, so the next file in the same worker
// starts from the same global object, as jest's own environment guarantees.
const vm = require('node:vm');
const { TestEnvironment } = require('jest-environment-node');
const { LegacyFakeTimers, ModernFakeTimers } = require('@jest/fake-timers');
const { ModuleMocker } = require('jest-mock');

const NATIVE_REQUIRE = Symbol.for('three-tier.native-require');
const UNDICI_DISPATCHER = Symbol.for('undici.globalDispatcher.1');
const singleRealm = new WeakSet();
const originalCompileFunction = vm.compileFunction;
vm.compileFunction = function compileFunction(code, params, options) {
  if (options && options.parsingContext && singleRealm.has(options.parsingContext)) {
    const { parsingContext: _ignored, ...rest } = options;
    return originalCompileFunction.call(this, code, params, rest);
  }
  return originalCompileFunction.call(this, code, params, options);
};
const originalRunInContext = vm.Script.prototype.runInContext;
vm.Script.prototype.runInContext = function runInContext(context, options) {
  return singleRealm.has(context) ? this.runInThisContext(options) : originalRunInContext.call(this, context, options);
};

const timerIdToRef = (id) => ({ id, ref() { return this; }, unref() { return this; } });
const timerRefToId = (timer) => (timer ? timer.id : undefined);

class SingleRealmEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.global = globalThis;
    // A marker object only: modules compiled "in" it are compiled in the main context.
    this.context = vm.createContext({});
    singleRealm.add(this.context);
    this.moduleMocker = new ModuleMocker(globalThis);
    this.fakeTimers = new LegacyFakeTimers({ config: config.projectConfig, global: globalThis, moduleMocker: this.moduleMocker, timerConfig: { idToRef: timerIdToRef, refToId: timerRefToId } });
    this.fakeTimersModern = new ModernFakeTimers({ config: config.projectConfig, global: globalThis });
    // Node's own require, for test/jest/shared-cfn-validate.js (jest's
    // `module.createRequire` returns jest's require).
    globalThis[NATIVE_REQUIRE] = require;
    // Load Node's own fetch now (its first call loads Node's undici, which
    // installs Node's global dispatcher), so the value restored below is
    // Node's, not a test file's.
    if (globalThis[UNDICI_DISPATCHER] === undefined) globalThis.fetch('data:,').catch(() => undefined);
    this.globalsBefore = new Set(Reflect.ownKeys(globalThis));
    // Symbol-keyed globals some libraries define non-configurable (undici's
    // global dispatcher): they cannot be deleted, so their values are put back.
    // Without this, a file that loads the undici package (through mailauth)
    // leaves its Agent as the dispatcher of Node's fetch, and the next file's
    // fetch calls into a module registry jest has already torn down.
    this.symbolValuesBefore = new Map(Object.getOwnPropertySymbols(globalThis).map((k) => [k, globalThis[k]]));
  }

  async teardown() {
    for (const [key, value] of this.symbolValuesBefore) {
      if (globalThis[key] === value) continue;
      const d = Object.getOwnPropertyDescriptor(globalThis, key);
      if (d && (d.writable || d.configurable || d.set)) globalThis[key] = value;
    }
    for (const key of Reflect.ownKeys(globalThis)) {
      if (this.globalsBefore.has(key)) continue;
      const d = Object.getOwnPropertyDescriptor(globalThis, key);
      if (d && d.configurable) delete globalThis[key];
    }
    await super.teardown();
  }

  getVmContext() {
    return this.context;
  }
}

module.exports = SingleRealmEnvironment;
