// main: restore the entry of `key`, else the newest entry whose key starts with a restore-keys line.
const { execFileSync } = require("child_process");
const { entryFile, fs, key, lines, store } = require("./common.js");

let matched = null;
if (store !== null && fs.existsSync(store)) {
  const keys = fs.readdirSync(store)
    .filter((name) => name.endsWith(".tar"))
    .map((name) => decodeURIComponent(name.slice(0, -4)));
  if (keys.includes(key)) {
    matched = key;
  } else {
    for (const prefix of lines("restore-keys")) {
      const found = keys.filter((k) => k.startsWith(prefix));
      found.sort((a, b) => fs.statSync(entryFile(a)).mtimeMs - fs.statSync(entryFile(b)).mtimeMs);
      if (found.length > 0) {
        matched = found[found.length - 1];
        break;
      }
    }
  }
}
if (matched !== null) {
  execFileSync("tar", ["-xf", entryFile(matched), "-C", process.env.GITHUB_WORKSPACE]);
  console.log(`stand-in cache: restored ${matched}`);
} else {
  console.log(`stand-in cache: miss for ${key}`);
}
fs.appendFileSync(process.env.GITHUB_OUTPUT, `cache-hit=${matched === key}\n`);
