// Validate an AsyncAPI document with the official parser (@asyncapi/parser, pinned in
// package-lock.json): prints every diagnostic as `<severity> <path>: <message> [<code>]` and a
// summary line, and exits 1 when any diagnostic has severity error (2 on a usage problem).
//
//     node tools/asyncapi-validate/validate.mjs contracts/asyncapi.yaml [--json]
//
// With --json it prints one JSON object instead: {"errors": n, "warnings": n, "diagnostics": [...]}.
import path from 'node:path';
import { Parser, fromFile, DiagnosticSeverity } from '@asyncapi/parser';

const SEVERITY = {
  [DiagnosticSeverity.Error]: 'error',
  [DiagnosticSeverity.Warning]: 'warning',
  [DiagnosticSeverity.Information]: 'info',
  [DiagnosticSeverity.Hint]: 'hint',
};

const args = process.argv.slice(2);
const json = args.includes('--json');
const files = args.filter((a) => a !== '--json');
if (files.length !== 1) {
  console.error('usage: node validate.mjs <asyncapi.yaml> [--json]');
  process.exit(2);
}
const file = path.resolve(files[0]);

const parser = new Parser();
let diagnostics;
try {
  // fromFile sets the document's source, so relative `$ref`s (./schemas/...) resolve next to it.
  ({ diagnostics } = await fromFile(parser, file).parse());
} catch (error) {
  console.error(`cannot parse ${file}: ${error?.stack ?? error}`);
  process.exit(2);
}

const rows = diagnostics.map((d) => ({
  severity: SEVERITY[d.severity] ?? String(d.severity),
  code: String(d.code ?? ''),
  path: (d.path ?? []).join('.'),
  message: d.message,
}));
const errors = rows.filter((r) => r.severity === 'error').length;
const warnings = rows.filter((r) => r.severity === 'warning').length;

if (json) {
  console.log(JSON.stringify({ errors, warnings, diagnostics: rows }, null, 2));
} else {
  for (const r of rows) {
    console.log(`${r.severity} ${r.path || '$'}: ${r.message} [${r.code}]`);
  }
  console.log(`${path.relative(process.cwd(), file)}: ${errors} error(s), ${warnings} warning(s)`);
}
process.exit(errors > 0 ? 1 : 0);
