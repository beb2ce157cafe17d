// Builds templates/open-archive.html: bundles src/main.js (with the pinned age-encryption
// library) into one inline script, inlines src/page.css, and writes one self-contained page.
// The output depends only on the sources and the locked packages, so rebuilding reproduces
// the committed file byte for byte.
//
//   node build.mjs            write ../../templates/open-archive.html
//   node build.mjs --check    build into memory and fail if the committed file differs
//   node build.mjs --out F    write F instead

import { readFileSync, writeFileSync, renameSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const target = resolve(here, "../../templates/open-archive.html");
const args = process.argv.slice(2);
const check = args.includes("--check");
const outIdx = args.indexOf("--out");
const out = outIdx >= 0 ? resolve(args[outIdx + 1]) : target;

const ageVersion = JSON.parse(
  readFileSync(join(here, "node_modules/age-encryption/package.json"), "utf8"),
).version;
const pinned = JSON.parse(readFileSync(join(here, "package.json"), "utf8")).dependencies["age-encryption"];
if (ageVersion !== pinned) {
  console.error(`age-encryption ${ageVersion} is installed but package.json pins ${pinned}: run npm ci in tools/open-page`);
  process.exit(1);
}

const result = await build({
  entryPoints: [join(here, "src/main.js")],
  bundle: true,
  write: false,
  format: "iife",
  platform: "browser",
  target: ["es2022", "chrome111", "firefox111", "safari16.4"],
  minify: true,
  charset: "utf8",
  legalComments: "inline",
  metafile: true,
  logLevel: "error",
});

// The licence of every package in the bundle, once each, in a stable order.
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//);
  if (m && !packages.has(m[1])) {
    const dir = join(here, "node_modules", m[1]);
    const meta = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    const licence = readFileSync(join(dir, "LICENSE"), "utf8").trim().replaceAll("*/", "* /");
    packages.set(m[1], `${m[1]} ${meta.version} (${meta.license})\n\n${licence}`);
  }
}
const licences = [...packages.keys()].sort().map((name) => packages.get(name));
let script =
  result.outputFiles[0].text.trimEnd() +
  "\n/*! Bundled packages and their licences:\n\n" +
  licences.join("\n\n----------------------------------------\n\n") +
  "\n*/";
// An inline script ends at the first "</script"; esbuild escapes it in strings, but check.
if (/<\/script/i.test(script) || script.includes("<!--")) {
  console.error("the bundle contains </script or <!--, which would break the inline <script>");
  process.exit(1);
}

const css = readFileSync(join(here, "src/page.css"), "utf8").trimEnd();
const template = readFileSync(join(here, "src/page.html"), "utf8");
for (const marker of ["/*STYLE*/", "/*SCRIPT*/", "__AGE_VERSION__"]) {
  if (!template.includes(marker)) {
    console.error(`src/page.html lacks the ${marker} marker`);
    process.exit(1);
  }
}
// Replacement functions: a "$" in the bundle must not be read as a replacement pattern.
const html = template
  .replace("/*STYLE*/", () => css)
  .replace("/*SCRIPT*/", () => script)
  .replaceAll("__AGE_VERSION__", () => ageVersion);

if (check) {
  const committed = existsSync(target) ? readFileSync(target, "utf8") : "";
  if (committed !== html) {
    console.error(
      `templates/open-archive.html is not what tools/open-page builds (${committed.length} vs ${html.length} bytes): ` +
        "run tools/open-page/build.sh and commit the result",
    );
    process.exit(1);
  }
  console.log(`templates/open-archive.html is up to date (${html.length} bytes, age-encryption ${ageVersion})`);
} else {
  const tmp = `${out}.tmp-${process.pid}`;
  writeFileSync(tmp, html);
  renameSync(tmp, out);
  console.log(`wrote ${out} (${html.length} bytes, age-encryption ${ageVersion})`);
}
