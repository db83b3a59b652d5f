// main: restore the entry of `key`, if there is one (exact keys only: restore-keys are not used here).
const { execFileSync } = require("child_process");
const { entryFile, fs, key } = require("./common.js");

const entry = entryFile(key);
const hit = entry !== null && fs.existsSync(entry);
if (hit) {
  execFileSync("tar", ["-xf", entry, "-C", process.env.GITHUB_WORKSPACE]);
  console.log(`stand-in cache: restored ${key}`);
} else {
  console.log(`stand-in cache: miss for ${key}`);
}
fs.appendFileSync(process.env.GITHUB_OUTPUT, `cache-hit=${hit}\n`);
