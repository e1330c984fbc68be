// A worker thread that runs one template rulebook for the synth's main thread
// (lib/compliance/rulebook-threads.ts starts it). Plain CommonJS on purpose:
// it runs with Node's own loader (no tsx, no jest transform), wherever the
// app runs.
//
// Both rulebooks it can run use AWS's CloudFormation validation engine, the
// WebAssembly module aws-cdk-lib ships, unchanged:
//   role 'guard':        the Control Tower Guard rule files it is given,
//                        evaluated by the engine's Guard evaluator (CelEngine);
//   role 'cfn-validate': aws-cdk-lib's own CloudFormationValidatePlugin.
// A thread loads the engine (instantiates the WebAssembly module) and grows
// its memory when it starts, while the app still builds its constructs. The
// Guard thread also builds the Guard engine when the app says which rule files
// (a 'guard-prepare' message); the built-in validation's engine is built for
// the first job's resource types. (Warming up on a small template as well
// measured the same wall time for more CPU, on 2 cores, and was dropped.)
//
// Memory: the engine's allocator grows its WebAssembly memory in small steps
// (from 32 MB to about 170 MB for the pilot), and V8 answers every growth
// beyond 64 MB with a full garbage collection of the thread's heap ("external
// memory pressure": some 300 collections, which cost more than the engine's
// own start, and on the main thread, with the app's construct tree in its
// heap, far more). So the thread first has the engine allocate one large
// block and free it (`presize`): the memory grows once, and the allocator
// serves what follows from that block. (New pages cost nothing until used.)
//
// Sharing the Guard work: a thread of either role also takes Guard jobs.
// One Guard job may be posted to several threads with the same `claim` (a
// SharedArrayBuffer counter): each thread takes the next template by
// incrementing it, until none is left, and answers for the templates it took.
// So a thread that is done with its own rulebook helps with the Guard
// templates still waiting, and the caller merges the answers.
//
// Protocol, on the MessagePort in workerData:
//   in:  { type: 'guard', id, key, rules: string[], templates: { file, bytes }[], claim? }
//        (key names the rule set; the engine built for it is reused;
//         claim: Int32Array counter shared by the threads the job was posted to)
//        { type: 'cfn-validate', id, context: { templatePaths, stackTemplates } }
//        { type: 'guard-prepare', key, rules: string[] }  (either role: builds
//          the engine for a Guard job expected soon; no answer)
//   out: { type: 'result', id, result }
//        { type: 'failed', id, file?, message }   (then this thread ends)
//        { type: 'fatal', message }                (then this thread ends)
// After each message it bumps signal[0] and notifies, so a caller blocked in
// Atomics.wait wakes up; signal[1] counts progress (a stalled thread shows);
// signal[2] is set when the thread ends.
'use strict';
const { workerData } = require('node:worker_threads');
const { createRequire } = require('node:module');

const { port, signal, cdkLibPackageJson, role } = workerData;
const flags = new Int32Array(signal);
const cdkRequire = createRequire(cdkLibPackageJson);

process.on('exit', () => {
  Atomics.store(flags, 2, 1);
  Atomics.notify(flags, 0);
});

function post(message) {
  port.postMessage(message);
  Atomics.add(flags, 0, 1);
  Atomics.notify(flags, 0);
}
function progress() {
  Atomics.add(flags, 1, 1);
}
function errorText(e) {
  return e && e.message ? e.message : String(e);
}

/**
 * What the engine's memory is grown by at once (see above): enough for both
 * engines a thread may hold (the built-in validation's and a Guard engine)
 * and the pilot's templates; at 256 MB the built-in validation's thread
 * still grew some 30 times. Pages not used cost nothing.
 */
const PRESIZE_BYTES = 384 * 1024 * 1024;
/** The same by writing a block (the fallback below): as large as measured to be needed for one engine, since every byte is written. */
const PRESIZE_WRITTEN_BYTES = 160 * 1024 * 1024;

/**
 * Loads the engine module (which instantiates its WebAssembly module),
 * keeping the instance's exports for `presize` (the module does not export
 * them): WebAssembly.Instance is wrapped in this thread while it loads.
 */
let instanceExports;
function loadEngine() {
  const Instance = WebAssembly.Instance;
  function Capturing(module, imports) {
    const instance = new Instance(module, imports);
    instanceExports ??= instance.exports;
    return instance;
  }
  Capturing.prototype = Instance.prototype;
  WebAssembly.Instance = Capturing;
  try {
    // The module instantiates its WebAssembly module when it loads.
    const engine = cdkRequire('@aws/cloudformation-validate');
    engine.version();
    return engine;
  } finally {
    WebAssembly.Instance = Instance;
  }
}

/**
 * Grows the engine's WebAssembly memory once by PRESIZE_BYTES: the engine's
 * own allocator allocates a block of that size and frees it again (through
 * the exports the glue code calls for every argument it passes), so its
 * later allocations come from that block. New WebAssembly pages are not
 * touched until used, so this costs no time and no resident memory. If the
 * exports are not there (another engine build), a template of
 * PRESIZE_WRITTEN_BYTES is copied into the engine and refused instead (larger
 * than a template may be; `{` then zeros is no template): a smaller growth,
 * at the cost of writing it.
 */
function presize(engine) {
  const x = instanceExports;
  let grown = false;
  if (x && typeof x.__wbindgen_malloc === 'function' && typeof x.__wbindgen_free === 'function' && x.memory instanceof WebAssembly.Memory) {
    try {
      const ptr = x.__wbindgen_malloc(PRESIZE_BYTES, 1);
      if (ptr) {
        x.__wbindgen_free(ptr, PRESIZE_BYTES, 1);
        grown = x.memory.buffer.byteLength >= PRESIZE_BYTES;
      }
    } catch (e) {
      // A trap leaves the instance unusable: the thread reports it and ends.
      if (e instanceof WebAssembly.RuntimeError) throw e;
      // Otherwise not grown: the fallback below.
    }
  }
  if (!grown) {
    const bytes = new Uint8Array(PRESIZE_WRITTEN_BYTES);
    bytes[0] = 0x7b;
    try {
      new engine.TemplateModel(new engine.TemplateContent(bytes, 'presize')).free();
    } catch {
      // Refused, as intended.
    }
  }
  progress();
}

// ---------------------------------------------------------------------------
// role 'guard'

let engineModule;
/** Engines by rule set; the few last used are kept. */
const engines = new Map();
const MAX_ENGINES = 4;

function engineFor(key, rules) {
  let e = engines.get(key);
  if (e) {
    engines.delete(key);
  } else {
    e = new engineModule.CelEngine({ guardRules: rules.map((f) => new engineModule.RuleFile(f)) });
    progress();
  }
  engines.set(key, e);
  while (engines.size > MAX_ENGINES) {
    const [oldest, engine] = engines.entries().next().value;
    engines.delete(oldest);
    engine.free();
  }
  return e;
}

/** Whether the engine's WebAssembly instance still answers (after a trap it does not). */
function instanceAnswers() {
  try {
    engineModule.version();
    return true;
  } catch {
    return false;
  }
}

function guardDiagnostics(engine, file, bytes) {
  const report = engine.validateTemplate(new engineModule.TemplateContent(bytes, file), { disableBuiltinRules: true });
  // Fail closed: a template the engine could not read (ERROR, e.g. over its
  // size limit) or analysed only in part (ANALYSIS_INCOMPLETE) is no verdict.
  if (report.status !== 'OK') {
    const why = report.diagnostics.filter((d) => d.source !== 'GUARD').map((d) => `${d.ruleId} ${d.message}`);
    throw new Error(`the engine reported ${report.status}${why.length ? `: ${why.join('; ')}` : ''}`);
  }
  return report.diagnostics.map((d) => ({
    ruleId: d.ruleId,
    source: d.source,
    message: d.message,
    ruleDescription: d.ruleDescription,
    propertyPath: d.propertyPath,
    entity: d.entity ? { logicalId: d.entity.logicalId, entityType: d.entity.entityType } : undefined,
  }));
}

function startGuard() {
  // The engine itself is built for the rule files of the first job, or of a
  // 'guard-prepare' message the app sends while it synthesizes.
  engineModule = loadEngine();
  presize(engineModule);
}

/** The Guard engine for a job's (or a 'guard-prepare' message's) rule files, in either role; a failure says it was the engine. */
function guardEngine(job) {
  try {
    engineModule ??= cdkRequire('@aws/cloudformation-validate');
    return engineFor(job.key, job.rules);
  } catch (e) {
    throw new Error(`building the Guard engine for ${job.rules.length} rule files failed: ${errorText(e)}`);
  }
}

function runGuard(job, at) {
  const claim = job.claim ? new Int32Array(job.claim) : undefined;
  // Nothing left to take (other threads took every template): no engine to build.
  if (claim && Atomics.load(claim, 0) >= job.templates.length) return [];
  const engine = guardEngine(job);
  const results = [];
  for (let i = 0; ; i++) {
    const n = claim ? Atomics.add(claim, 0, 1) : i;
    if (n >= job.templates.length) break;
    const t = job.templates[n];
    at.file = t.file;
    results.push({ file: t.file, diagnostics: guardDiagnostics(engine, t.file, t.bytes) });
    progress();
  }
  return results;
}

// ---------------------------------------------------------------------------
// role 'cfn-validate'

let cfnValidate;

function startCfnValidate() {
  // The engine module aws-cdk-lib's plugin requires (one per thread).
  presize(loadEngine());
  const { CloudFormationValidatePlugin } = cdkRequire('aws-cdk-lib');
  cfnValidate = new CloudFormationValidatePlugin();
  progress();
}

function runCfnValidate(job) {
  const r = cfnValidate.validate(job.context);
  progress();
  return r;
}

// ---------------------------------------------------------------------------

try {
  if (role === 'guard') startGuard();
  else if (role === 'cfn-validate') startCfnValidate();
  else throw new Error(`unknown role ${role}`);
} catch (e) {
  post({ type: 'fatal', message: `could not start: ${errorText(e)}` });
  process.exit(0);
}

port.on('message', (job) => {
  if (job && job.type === 'guard-prepare') {
    try {
      guardEngine(job);
    } catch (e) {
      // Only preparation: a Guard job builds the engine again and reports what fails. But if the
      // engine's instance no longer answers (a trap ends it), no job here can succeed: the next
      // one is told why, and a fresh thread takes the jobs after it.
      if (!instanceAnswers()) {
        post({ type: 'fatal', message: errorText(e) });
        process.exit(0);
      }
    }
    return;
  }
  // Either role takes Guard jobs (see "Sharing the Guard work" above).
  if (!job || (job.type !== role && job.type !== 'guard')) return;
  const at = { file: undefined };
  try {
    post({ type: 'result', id: job.id, result: job.type === 'guard' ? runGuard(job, at) : runCfnValidate(job) });
  } catch (e) {
    // A failed evaluation may leave the WebAssembly instance unusable: report
    // it (the caller fails the synth, naming the template) and end this
    // thread; the next job gets a fresh one.
    post({ type: 'failed', id: job.id, file: at.file, message: errorText(e) });
    process.exit(0);
  }
});
