// Shared by restore.js and save.js: the inputs and where an entry is kept.
const fs = require("fs");
const path = require("path");

function input(name) {
  return (process.env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] || "").trim();
}

function lines(name) {
  return input(name).split("\n").map((line) => line.trim()).filter(Boolean);
}

const store = process.env.MLGATE_TEST_CACHE_DIR || null;
const key = input("key");
if (!key) throw new Error("stand-in cache: input `key` is required");
if (lines("path").length === 0) throw new Error("stand-in cache: input `path` is required");

// the entry of `name` (a tar file), or null without a store
function entryFile(name) {
  return store === null ? null : path.join(store, `${encodeURIComponent(name)}.tar`);
}

module.exports = { entryFile, fs, key, lines, store };
