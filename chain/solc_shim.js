#!/usr/bin/env node
// A `solc` executable for py-solc-x backed by solc-js (the npm package `solc`): no native
// compiler can be downloaded here. Answers `--version` and compiles standard JSON from stdin,
// resolving imports from the project's contracts/ and node_modules/.
"use strict";
const fs = require("fs");
const path = require("path");

const projectRoot = path.resolve(__dirname, "..");
const solc = require(path.join(projectRoot, "node_modules", "solc"));

function findImport(importPath) {
  for (const base of [projectRoot, path.join(projectRoot, "node_modules")]) {
    const candidate = path.join(base, importPath);
    if (candidate.startsWith(base) && fs.existsSync(candidate)) {
      return { contents: fs.readFileSync(candidate, "utf8") };
    }
  }
  return { error: `import not found: ${importPath}` };
}

const args = process.argv.slice(2);
if (args.includes("--version")) {
  process.stdout.write(
    `solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`
  );
} else if (args.includes("--standard-json")) {
  const input = fs.readFileSync(0, "utf8");
  process.stdout.write(solc.compile(input, { import: findImport }));
} else {
  process.stderr.write("solc shim: only --version and --standard-json are supported\n");
  process.exit(2);
}
