// Assembles dist/ from the compiled modules (build/js) and static/: every
// asset goes under /assets/<content hash>/ so the server may let browsers
// cache it for a year, and index.html (never cached) points at that folder.
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const compiled = join(root, "build", "js");
const statics = join(root, "static");
const dist = join(root, "dist");

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

const assets = [...files(compiled), ...files(statics).filter((f) => !f.endsWith("index.html"))];
const hash = createHash("sha256");
for (const file of assets.sort()) {
  hash.update(relative(root, file));
  hash.update(readFileSync(file));
}
const version = hash.digest("hex").slice(0, 12);

rmSync(dist, { recursive: true, force: true });
const assetDir = join(dist, "assets", version);
mkdirSync(assetDir, { recursive: true });
cpSync(compiled, assetDir, { recursive: true });
for (const file of files(statics)) {
  if (file.endsWith("index.html")) continue;
  const target = join(assetDir, relative(statics, file));
  mkdirSync(dirname(target), { recursive: true });
  cpSync(file, target);
}
const page = readFileSync(join(statics, "index.html"), "utf8").replaceAll("{{ASSETS}}", `/assets/${version}`);
writeFileSync(join(dist, "index.html"), page);
console.log(`web UI built: dist/index.html + dist/assets/${version}/ (${assets.length} files)`);
