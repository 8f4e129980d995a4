// Build the worker's static assets directory (the `ASSETS` binding): the browser SDK, and
// with --demo the local demo pages too. One script for every asset, so a later bundle (a
// viewer) is one more entry here.
//   node tools/assets/build.mjs [--demo] [--out DIR]
// Default out: public/ (what `wrangler deploy` uploads); --demo defaults to build/public-dev/.
import { build } from 'esbuild';
import { cpSync, mkdirSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const demo = args.includes('--demo');
const oi = args.indexOf('--out');
const out = resolve(root, oi >= 0 ? args[oi + 1] : demo ? 'build/public-dev' : 'public');

const bundles = [
  { entry: 'sdk/loader.js', file: 'sdk/sdk.js', budget: 2048 },
  { entry: 'sdk/recorder.js', file: 'sdk/recorder.js', budget: 30 * 1024 },
  // The viewer (rrweb-player and its CSS, bundled to viewer.js + viewer.css).
  { entry: 'viewer/viewer.js', file: 'viewer/viewer.js', budget: 160 * 1024, css: 'viewer/viewer.css' },
];

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const sizes = {};
for (const b of bundles) {
  const outfile = join(out, b.file);
  await build({
    entryPoints: [join(root, b.entry)], outfile, bundle: true, minify: true, format: 'iife',
    target: ['es2019'], legalComments: 'none', logLevel: 'warning',
  });
  const bytes = readFileSync(outfile);
  const gz = gzipSync(bytes, { level: 9 }).length;
  sizes[b.file] = { raw: bytes.length, gzip: gz, budget_gzip: b.budget };
  if (b.css) {
    const css = readFileSync(join(out, b.css));
    sizes[b.css] = { raw: css.length, gzip: gzipSync(css, { level: 9 }).length };
  }
  if (gz > b.budget) {
    console.error(`${b.file}: ${gz} B gzip is over its budget of ${b.budget} B`);
    process.exit(1);
  }
}
cpSync(join(root, 'viewer/index.html'), join(out, 'viewer/index.html'));
// Response headers of directly served assets (the viewer's CSP); see viewer/_headers.
cpSync(join(root, 'viewer/_headers'), join(out, '_headers'));
if (demo) cpSync(join(root, 'dev/site'), out, { recursive: true });
writeFileSync(join(out, 'sdk/sizes.json'), JSON.stringify(sizes, null, 2) + '\n');
if (!process.env.VEILGATE_QUIET) console.error(`assets → ${out}: ${JSON.stringify(sizes)}`);
