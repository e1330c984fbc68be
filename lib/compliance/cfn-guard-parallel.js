#!/usr/bin/env node
// Runs the cfn-guard binary shipped in @cdklabs/cdk-validator-cfnguard over
// its --data files in parallel (one process per core) and prints one merged
// JSON array, so it can stand in for the binary. Exit code: 19 when any
// process reported non-compliance (as cfn-guard does), else the worst code.
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

function guardBinary() {
  const pkg = path.dirname(require.resolve('@cdklabs/cdk-validator-cfnguard/package.json'));
  const platform = { linux: 'ubuntu', darwin: 'macos' }[process.platform];
  const arch = { x64: 'x86_64', arm64: 'aarch64' }[process.arch];
  if (!platform || !arch) throw new Error(`cfn-guard has no binary for ${process.platform}/${process.arch}`);
  return path.join(pkg, 'bin', platform, arch, 'cfn-guard');
}

const args = process.argv.slice(2);
const data = [];
const rest = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--data') data.push(args[++i]);
  else rest.push(args[i]);
}
const workers = Math.max(1, Math.min(data.length, os.availableParallelism ? os.availableParallelism() : os.cpus().length, 4));
// Balance by file size: largest first onto the lightest chunk.
const chunks = Array.from({ length: workers }, () => ({ size: 0, files: [] }));
for (const f of [...data].sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)) {
  const c = chunks.reduce((m, x) => (x.size < m.size ? x : m));
  c.files.push(f);
  c.size += fs.statSync(f).size;
}
const bin = guardBinary();
let pending = chunks.length;
const outputs = new Array(chunks.length);
const codes = new Array(chunks.length);
chunks.forEach((c, i) => {
  const p = spawn(bin, [...rest, ...c.files.flatMap((f) => ['--data', f])], { stdio: ['ignore', 'pipe', 'inherit'] });
  const buf = [];
  p.stdout.on('data', (d) => buf.push(d));
  p.on('close', (code) => {
    outputs[i] = Buffer.concat(buf).toString('utf8').trim();
    codes[i] = code ?? 1;
    if (--pending === 0) finish();
  });
});

function finish() {
  const merged = [];
  for (const o of outputs) if (o.length) merged.push(...JSON.parse(o));
  process.stdout.write(JSON.stringify(merged));
  const bad = codes.find((c) => c !== 0 && c !== 5 && c !== 19);
  process.exitCode = bad !== undefined ? bad : codes.includes(19) ? 19 : codes.includes(5) ? 5 : 0;
}
