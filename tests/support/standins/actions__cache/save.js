// post (successful jobs only): save the paths under `key` unless its entry exists (never overwritten).
const { execFileSync } = require("child_process");
const { entryFile, fs, key, lines, store } = require("./common.js");

const entry = entryFile(key);
if (store === null) {
  console.log("stand-in cache: MLGATE_TEST_CACHE_DIR is not set, nothing saved");
} else if (fs.existsSync(entry)) {
  console.log(`stand-in cache: ${key} exists, not saving`);
} else {
  fs.mkdirSync(store, { recursive: true });
  const partial = `${entry}.partial-${process.pid}`;
  // the globs are expanded by bash (globstar: `**` is any depth), relative to the workspace
  const script = 'shopt -s globstar nullglob; set -- $MLGATE_CACHE_PATHS; [ $# -eq 0 ] || tar -cf "$MLGATE_CACHE_TAR" -- "$@"';
  execFileSync("bash", ["-c", script], {
    cwd: process.env.GITHUB_WORKSPACE,
    env: { ...process.env, MLGATE_CACHE_PATHS: lines("path").join(" "), MLGATE_CACHE_TAR: partial },
    stdio: "inherit",
  });
  if (!fs.existsSync(partial)) {
    console.log(`::warning::stand-in cache: none of the paths exist, nothing saved for ${key}`);
  } else {
    fs.renameSync(partial, entry); // another job saving the same key at once: the last one wins
    console.log(`stand-in cache: saved ${key}`);
  }
}
