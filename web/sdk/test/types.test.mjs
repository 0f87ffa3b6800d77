// The shipped TypeScript declarations (internal/sdk/dist/*.d.ts, copied from
// sdk/src/index.d.ts) under the pinned TypeScript compiler: a typed usage
// example must compile with --strict, and a file of deliberate mistakes must
// fail on exactly its marked lines. Needs web/node_modules (`npm ci`, which
// `make test` runs first).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tsc = join(web, 'node_modules', 'typescript', 'bin', 'tsc');
const types = join(web, 'sdk', 'testing', 'types');
const dist = join(web, '..', 'internal', 'sdk', 'dist');

function compile(file) {
  assert.ok(existsSync(tsc), 'typescript is not installed: run `npm ci` in web/ (make test does)');
  const args = [tsc, '--noEmit', '--strict', '--pretty', 'false', '--target', 'es2020', '--module', 'esnext', '--moduleResolution', 'bundler', '--lib', 'es2020,dom', join(types, file)];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd: web }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, output: stdout + stderr });
    });
  });
}

test('declarations sit beside both bundles and match the source', () => {
  const src = readFileSync(join(web, 'sdk', 'src', 'index.d.ts'), 'utf8');
  for (const f of ['rtcsdk.d.ts', join('esm', 'rtcsdk.d.ts')]) {
    assert.ok(readFileSync(join(dist, f), 'utf8').endsWith(src), f + ' is not sdk/src/index.d.ts: run make sdk');
  }
});

test('tsc --strict accepts the typed usage example', async () => {
  const r = await compile('ok.ts');
  assert.equal(r.code, 0, r.output);
});

test('tsc --strict rejects the deliberate mistakes, each one', async () => {
  const file = 'bad.ts';
  const want = [];
  readFileSync(join(types, file), 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (/\/\/ error:/.test(line)) want.push(i + 1);
    });
  assert.ok(want.length >= 5);
  const r = await compile(file);
  assert.notEqual(r.code, 0, 'bad.ts compiled');
  const got = [...new Set([...r.output.matchAll(/bad\.ts\((\d+),\d+\): error TS\d+/g)].map((m) => Number(m[1])))].sort((a, b) => a - b);
  assert.deepEqual(got, want, r.output);
});

test('declarations list the languages and result codes the SDK has', async () => {
  const { LANGUAGES } = await import('../src/i18n.js');
  const { RESULT_CODES } = await import('../src/protocol.js');
  const dts = readFileSync(join(web, 'sdk', 'src', 'index.d.ts'), 'utf8');
  const union = (name) => {
    const m = dts.match(new RegExp('export type ' + name + ' =([^;]*);'));
    assert.ok(m, name);
    return [...m[1].matchAll(/'([^']+)'/g)].map((x) => x[1]);
  };
  assert.deepEqual(union('Language'), [...LANGUAGES]);
  assert.deepEqual(union('ResultCode'), [...RESULT_CODES]);
});
