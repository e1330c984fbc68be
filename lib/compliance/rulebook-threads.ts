import * as fs from 'fs';
import * as path from 'path';
import * as v8 from 'v8';
import { MessageChannel, MessagePort, receiveMessageOnPort, Worker } from 'worker_threads';
import type { IPolicyValidationContext, PolicyValidationPluginReport } from 'aws-cdk-lib';

/**
 * Template rulebooks in worker threads (lib/compliance/rulebook-thread.js):
 * the Control Tower Guard evaluation and aws-cdk-lib's built-in
 * CloudFormation validation each run in a thread of their own, at the same
 * time as each other and as the rulebooks of the main thread (AwsSolutions,
 * ThreeTier). Each thread loads the validation engine when it starts, while
 * the app still builds its constructs, and both build the Guard engine for the
 * app's resource types when the app says which (ControlTowerChecks.prepare).
 * The built-in validation's thread, once done with its own job, takes Guard
 * templates too (ControlTowerChecks hands them out from one shared counter).
 *
 * One thread per rulebook and process, shared by every caller (and by jest's
 * per-file module registries), unref'd: a thread never keeps a process alive
 * and ends with it. Callers block on it (a validation plugin answers
 * synchronously). A thread that fails, ends or stops making progress fails the
 * evaluation (closed), naming the template, and the next caller gets a fresh
 * thread.
 */

const THREAD_FILE = path.join(__dirname, 'rulebook-thread.js');
/** Without progress (a template evaluated, an engine built) for this long, a thread counts as stalled. */
const STALL_MS = 2 * 60 * 1000;
/** Slots of the shared signal: messages posted, progress, thread ended. */
const POSTED = 0;
const PROGRESS = 1;
const ENDED = 2;

export type RulebookRole = 'guard' | 'cfn-validate';

/** A diagnostic of the Guard evaluator, as far as the Control Tower report uses it. */
export interface GuardDiagnostic {
  ruleId: string;
  source?: string;
  message: string;
  ruleDescription?: string;
  propertyPath?: string;
  entity?: { logicalId?: string; entityType?: string };
}

export interface GuardJob {
  type: 'guard';
  /** Names the rule set (the engine built for it is reused). */
  key: string;
  /** Rule files, evaluated unchanged. */
  rules: string[];
  templates: { file: string; bytes: Uint8Array }[];
  /**
   * Shared by every thread the job is posted to (an Int32Array counter from
   * 0): each takes the next template from it and answers for those it took.
   * Without it, the thread evaluates every template.
   */
  claim?: SharedArrayBuffer;
}
export interface CfnValidateJob {
  type: 'cfn-validate';
  context: Pick<IPolicyValidationContext, 'templatePaths' | 'stackTemplates'>;
}
interface Results {
  guard: { file: string; diagnostics: GuardDiagnostic[] }[];
  'cfn-validate': PolicyValidationPluginReport;
}

type Message = { type: 'result'; id: number; result: unknown } | { type: 'failed'; id: number; file?: string; message: string } | { type: 'fatal'; message: string };

/** A job handed to a thread; `wait()` blocks until its answer is back; `abandon()` says nobody will. */
export interface Pending<T> {
  wait(): T;
  abandon(): void;
}

class RulebookThread {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly flags: Int32Array;
  private nextId = 1;
  /** Answers that came in while waiting for another job's (several jobs may be under way). */
  private readonly early = new Map<number, Message>();
  /** Jobs whose answers nobody will wait for. */
  private readonly discard = new Set<number>();
  /** Why this thread can take no more jobs. */
  failure?: string;

  constructor(readonly role: RulebookRole) {
    if (!fs.existsSync(THREAD_FILE)) throw new Error(`the rulebook thread ${THREAD_FILE} is missing`);
    const { port1, port2 } = new MessageChannel();
    const signal = new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT);
    this.flags = new Int32Array(signal);
    this.port = port1;
    this.worker = new Worker(THREAD_FILE, {
      workerData: { port: port2, signal, cdkLibPackageJson: require.resolve('aws-cdk-lib/package.json'), role },
      transferList: [port2],
      // Node's own loader in the thread (the app's may be tsx or jest's).
      execArgv: [],
      name: `three-tier ${role}`,
    });
    this.worker.unref();
    port1.unref();
    this.worker.on('error', (e) => (this.failure ??= `the ${role} thread failed: ${e.message}`));
    this.worker.on('exit', (code) => (this.failure ??= `the ${role} thread ended (exit code ${code})`));
  }

  submit<J extends GuardJob | CfnValidateJob>(job: J, describe: (file?: string) => string): Pending<Results[J['type']]> {
    const id = this.nextId++;
    this.port.postMessage({ ...job, id });
    return { wait: () => this.wait(id, describe) as Results[J['type']], abandon: () => this.abandon(id) };
  }

  /** Nobody will wait for this job's answer: it is dropped when it comes (not kept among the answers waited for). */
  private abandon(id: number): void {
    if (!this.early.delete(id)) this.discard.add(id);
  }

  /** Has the thread build what a job will need (no answer; a job of that key then finds it built). */
  prepare(message: { type: 'guard-prepare'; key: string; rules: string[] }): void {
    this.port.postMessage(message);
  }

  /** Keeps another job's answer for its own wait() (a few: a job nobody waits for any more is dropped in the end). */
  private keep(msg: Message & { id: number }): void {
    this.early.set(msg.id, msg);
    for (const old of this.early.keys()) {
      if (this.early.size <= 16) break;
      this.early.delete(old);
    }
  }

  private fail(describe: (file?: string) => string, why: string, file?: string): never {
    this.failure ??= why;
    void this.worker.terminate();
    throw new Error(`${describe(file)}: ${why}`);
  }

  private wait(id: number, describe: (file?: string) => string): unknown {
    let progress = Atomics.load(this.flags, PROGRESS);
    let since = Date.now();
    for (;;) {
      const posted = Atomics.load(this.flags, POSTED);
      // Read before the port: a thread posts its last message before it ends, so an end seen here
      // has its message (e.g. which template failed) in the port below.
      const ended = Atomics.load(this.flags, ENDED) !== 0;
      const failure = this.failure;
      let msg = this.early.get(id);
      this.early.delete(id);
      while (!msg) {
        const m = receiveMessageOnPort(this.port);
        if (!m) break;
        const next = m.message as Message;
        if (next.type === 'fatal' || next.id === id) msg = next;
        else if (this.discard.delete(next.id)) continue;
        else this.keep(next);
      }
      if (msg?.type === 'fatal') this.fail(describe, msg.message);
      if (msg?.type === 'failed') this.fail(describe, msg.message, msg.file);
      if (msg?.type === 'result') return msg.result;
      if (failure) this.fail(describe, failure);
      if (ended) this.fail(describe, `the ${this.role} thread ended without an answer`);
      Atomics.wait(this.flags, POSTED, posted, 1000);
      const p = Atomics.load(this.flags, PROGRESS);
      if (p !== progress) {
        progress = p;
        since = Date.now();
      } else if (Date.now() - since > STALL_MS) {
        this.fail(describe, `the ${this.role} thread made no progress for ${STALL_MS / 1000} s`);
      }
    }
  }
}

const holder = process as unknown as Record<symbol, RulebookThread | undefined>;
const holderKey = (role: RulebookRole): symbol => Symbol.for(`three-tier.rulebook-thread.${role}`);

/** The process's thread for a rulebook, started on first use (again after a failure). */
export function rulebookThread(role: RulebookRole): RulebookThread {
  applyWasmTieringBudget();
  const key = holderKey(role);
  let t = holder[key];
  if (!t || t.failure) {
    t = new RulebookThread(role);
    holder[key] = t;
  }
  return t;
}

/** The process's thread for a rulebook if it runs (started and not failed); none is started. */
export function runningRulebookThread(role: RulebookRole): RulebookThread | undefined {
  const t = holder[holderKey(role)];
  return t && !t.failure ? t : undefined;
}

/**
 * How much a WebAssembly function runs before V8 recompiles it with its
 * optimizing compiler (V8's `--wasm-tiering-budget`, default 1,800,000).
 * The validation engine is a 9 MB module; a synth runs it for a few seconds,
 * and at the default V8 spends more CPU recompiling its functions in the
 * background than the recompiled code saves: measured on the pilot (2 cores),
 * about 1.7 s of CPU less and 0.6 s less wall time per synth at this value,
 * the engine's start in the built-in validation's thread 1.4 → 0.7 s.
 * Hot functions are still optimized, later. It changes no result, only when
 * code is optimized.
 */
export const WASM_TIERING_BUDGET = 300_000_000;

/**
 * Sets V8's `--wasm-tiering-budget` for this process (V8 flags are the
 * process's, shared by its threads) before the first rulebook thread starts,
 * unless the process was started with a value of its own (node option or
 * NODE_OPTIONS), which is kept. THREE_TIER_WASM_TIERING=default keeps V8's
 * default.
 */
export function applyWasmTieringBudget(): void {
  const g = globalThis as unknown as Record<symbol, boolean | undefined>;
  const done = Symbol.for('three-tier.wasm-tiering-budget');
  if (g[done]) return;
  g[done] = true;
  const flag = wasmTieringFlag(process.execArgv, process.env);
  if (flag) v8.setFlagsFromString(flag);
}

/** The V8 flag `applyWasmTieringBudget` sets, or none (a value given on the command line or in NODE_OPTIONS, or THREE_TIER_WASM_TIERING=default). */
export function wasmTieringFlag(execArgv: readonly string[], env: Record<string, string | undefined>): string | undefined {
  const given = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) => /^--wasm[-_]tiering[-_]budget\b/.test(a));
  if (given || env.THREE_TIER_WASM_TIERING === 'default') return undefined;
  return `--wasm-tiering-budget=${WASM_TIERING_BUDGET}`;
}

/** `files`, for an error message: the one, or the first and how many others. */
export function describeFiles(files: readonly string[]): string {
  return files.length === 1 ? files[0] : `${files[0]} (and ${files.length - 1} other templates)`;
}
