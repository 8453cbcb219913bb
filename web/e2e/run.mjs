// End-to-end tests of the web UI in a real browser (Chromium through
// playwright-core), against a real `safelynx serve` with a temporary data
// directory on a free port. No test framework: a tiny sequential runner that
// prints one line per step (TAP-like) and exits 1 when any step failed.
//
//   node e2e/run.mjs            (from web/; or `npm --prefix web run test:e2e`;
//                               Node.js 18 or newer: playwright-core is pinned to
//                               1.61.1, the last release that runs on Debian 12's 18)
//
// Environment:
//   CHROMIUM        the browser (default /usr/bin/chromium, Debian's `chromium`)
//   SAFELYNX_BIN    the server (default build/release/src/safelynx)
//   SAFELYNX_TESTDATA, SAFELYNX_MODELS   as for the C++ tests
//                   (default ../shared/testdata and models/ of the checkout)
//   E2E_OUTPUT      screenshots, server.log, browser-console.log and axe-core's
//                   results a11y-<page>.json
//                   (default web/test-results/)
//   E2E_TIMEOUT_S   the whole run's limit (default 300)
//   E2E_KEEP_DATA=1 keep the server's temporary data directory
//
// Exit status: 0 all steps passed, or SKIPPED (no shared test data or no
// models: the flow needs real faces and a real video); 1 a step failed or
// Chromium / web/dist / the server binary is missing (the message says how to
// get it).
//
// What fails a step besides its own assertions: any console message of type
// "error" and any uncaught exception on any page of the run (network errors
// such as a 404 reach the console as errors too), and any error toast the UI
// shows ([data-testid=toast-error], reported to the console by the init script
// below). Nothing is filtered out. And any accessibility violation of impact
// serious or critical that axe-core finds (WCAG 2.1 A and AA) on a page the
// step checks, in the light and the dark colour scheme (see a11y below).
import { spawn } from "node:child_process";
import { appendFileSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { uiChecks } from "./ui-checks.mjs";
import { mergeChecks } from "./merge-checks.mjs";
import { reviewChecks } from "./review-checks.mjs";

const webDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repo = resolve(webDir, "..");

const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
// The flags, plus a fake camera (a test pattern) for getUserMedia, so
// the "use this browser's camera" step runs without a webcam.
const chromiumArgs = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--use-fake-device-for-media-stream"];
const serverBin = resolve(repo, process.env.SAFELYNX_BIN || "build/release/src/safelynx");
const testdata = resolve(repo, process.env.SAFELYNX_TESTDATA || "../shared/testdata");
const models = resolve(repo, process.env.SAFELYNX_MODELS || "models");
const webDist = join(webDir, "dist");
const outDir = resolve(process.env.E2E_OUTPUT || join(webDir, "test-results"));
const runLimitS = Number(process.env.E2E_TIMEOUT_S || 300);
const adminPassword = "e2e-correct-horse-battery";

const roseDir = join(testdata, "faces", "rose_leslie");
const linPhoto = join(testdata, "faces", "lin_manuel_miranda", "lin1.png");
const clip = join(testdata, "video", "short_hamilton_clip.mp4");
const desktop = { width: 1280, height: 800 };
const phone = { width: 375, height: 812 };
const SIGHTING_TIMEOUT_MS = 60_000;

const started = Date.now();
const seconds = (ms) => (ms / 1000).toFixed(1) + " s";
const log = (text) => console.log("# " + text);

// ---------------------------------------------------------------- preflight

function skip(why) {
  console.log(`SKIPPED: ${why}`);
  process.exit(0);
}
function fatal(why) {
  console.error(`e2e: error: ${why}`);
  process.exit(1);
}

if (!existsSync(roseDir) || !existsSync(clip) || !existsSync(linPhoto))
  skip(`shared test data not found at ${testdata} (faces/rose_leslie, faces/lin_manuel_miranda/lin1.png, video/short_hamilton_clip.mp4; set SAFELYNX_TESTDATA)`);
if (!existsSync(join(models, "face_recognition_model.bin")))
  skip(`models not found at ${models} (run scripts/fetch-models.sh or set SAFELYNX_MODELS)`);
if (!existsSync(chromiumPath))
  fatal(`Chromium not found at ${chromiumPath}: install it with \`bash scripts/install-deps.sh\` (Debian package chromium) or point CHROMIUM at a Chromium binary`);
if (!existsSync(join(webDist, "index.html")))
  fatal(`the UI is not built (${webDist}/index.html missing): run \`npm --prefix web ci && npm --prefix web run build\` from the repository root`);
if (!existsSync(serverBin))
  fatal(`the server is not built (${serverBin} missing): run \`bash scripts/build.sh release\` or set SAFELYNX_BIN`);

const nodeMajor = Number(process.versions.node.split(".")[0]);
if (nodeMajor < 18)
  fatal(`Node.js ${process.versions.node} is too old: the end-to-end tests need Node.js 18 or newer`);

let chromium;
try {
  ({ chromium } = await import("playwright-core"));
} catch {
  fatal("playwright-core is not installed: run `npm --prefix web ci` from the repository root");
}

let axeSource;
try {
  axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
} catch {
  fatal("axe-core is not installed: run `npm --prefix web ci` from the repository root");
}

mkdirSync(outDir, { recursive: true });
for (const name of readdirSync(outDir)) {
  if (name.endsWith(".png") || (name.startsWith("a11y-") && name.endsWith(".json")) || name === "server.log" || name === "browser-console.log") rmSync(join(outDir, name), { force: true });
}
const consoleLog = join(outDir, "browser-console.log");
const serverLog = join(outDir, "server.log");
writeFileSync(consoleLog, "");

// ------------------------------------------------------------------- server

let server = null; // { child, base, exited: Promise<{code, signal}>, logStream }
let dataDir = null;
let browser = null;

async function startServer() {
  dataDir = mkdtempSync(join(tmpdir(), "safelynx-e2e-"));
  const logStream = createWriteStream(serverLog);
  const env = {
    ...process.env,
    SAFELYNX_ADMIN_PASSWORD: adminPassword,
    SAFELYNX_MODELS: models,
    SAFELYNX_SERVER_WEB_DIR: webDist,
    // A browser loads many assets at once from one address.
    SAFELYNX_SERVER_RATE_LIMIT_PER_SECOND: "0",
    // Recordings finish 2 s after the last face, so the player test need not wait long.
    SAFELYNX_RECORDING_POST_BUFFER_S: "2",
    // File cameras play only from allowed folders: the clip's.
    SAFELYNX_CAMERAS_FILE_ROOTS: dirname(clip),
  };
  const child = spawn(serverBin, ["serve", "--data-dir", join(dataDir, "data"), "--port", "0"], { env, stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise((done) => child.on("exit", (code, signal) => done({ code, signal })));
  child.stderr.pipe(logStream, { end: false });
  let stdout = "";
  const base = await new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error("the server did not say where it listens within 60 s (see server.log)")), 60_000);
    child.stdout.on("data", (chunk) => {
      logStream.write(chunk);
      stdout += chunk.toString();
      const found = stdout.match(/listening on (http:\/\/[^\s]+)/);
      if (found) {
        clearTimeout(timer);
        done(found[1].replace(/\/$/, ""));
      }
    });
    child.on("error", (error) => {
      clearTimeout(timer);
      fail(error);
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      fail(new Error(`the server exited (${signal ?? "status " + code}) before listening; its log:\n${tail(serverLog)}`));
    });
  });
  server = { child, base, exited, logStream };
  return base;
}

function tail(path, lines = 30) {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

// SIGTERM, then SIGKILL after the grace period; returns how it ended.
async function stopServer(graceMs = 20_000) {
  if (!server) return null;
  const { child, exited } = server;
  let result;
  if (child.exitCode === null && child.signalCode === null) {
    child.kill("SIGTERM");
    let timeout;
    const timer = new Promise((done) => (timeout = setTimeout(() => done(null), graceMs)));
    result = await Promise.race([exited, timer]);
    clearTimeout(timeout);
    if (!result) {
      child.kill("SIGKILL");
      result = { ...(await exited), killed: true };
    }
  } else {
    result = await exited;
  }
  server.logStream.end();
  server = null;
  return result;
}

// Whatever happens, the server does not outlive the run.
process.on("exit", () => {
  if (server && server.child.exitCode === null) server.child.kill("SIGKILL");
  if (dataDir && !process.env.E2E_KEEP_DATA) rmSync(dataDir, { recursive: true, force: true });
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, async () => {
    console.error(`e2e: ${signal}: stopping`);
    await browser?.close().catch(() => {});
    await stopServer(5_000);
    process.exit(130);
  });
}

// ------------------------------------------------------------------ runner

// A step failed only by page errors (its own actions and checks passed) still
// fails the run, but the steps that need it run: they may show more.
const results = []; // { name, status: "ok" | "failed" | "skipped", ms, error }
const doneSteps = new Set(); // steps whose actions and checks passed
const pageErrors = []; // console errors and uncaught exceptions not yet charged to a step

async function step(name, options, body) {
  if (typeof options === "function") [options, body] = [{}, options];
  const number = results.length + 1;
  const missing = (options.needs ?? []).filter((n) => !doneSteps.has(n));
  if (missing.length) {
    results.push({ name, status: "skipped" });
    console.log(`ok ${number} - ${name} # SKIP needs: ${missing.join(", ")}`);
    return;
  }
  // Errors logged since the previous step (between steps) are charged to this one.
  const t0 = Date.now();
  let error = null;
  try {
    await body();
  } catch (e) {
    error = e;
  }
  if (!error) doneSteps.add(name);
  // Errors the pages logged while the step ran fail it (after a moment for late ones).
  // So do the serious and critical accessibility violations it found (a11y below).
  await new Promise((done) => setTimeout(done, 100));
  const late = [];
  if (pageErrors.length) late.push("page errors during the step:\n" + pageErrors.map((e) => "  " + e).join("\n"));
  if (a11yFailures.length) late.push("accessibility violations (axe-core, impact serious or critical):\n" + a11yFailures.map((e) => "  " + e).join("\n"));
  pageErrors.length = 0;
  a11yFailures.length = 0;
  if (late.length) {
    const text = late.join("\n");
    error = error ? new Error(`${error?.message ?? error}\n${text}`) : new Error(text);
  }
  const ms = Date.now() - t0;
  if (!error) {
    results.push({ name, status: "ok", ms });
    console.log(`ok ${number} - ${name} (${seconds(ms)})`);
    return;
  }
  results.push({ name, status: "failed", ms, error });
  console.log(`not ok ${number} - ${name} (${seconds(ms)})`);
  for (const line of String(error?.message ?? error).split("\n")) console.log(`  ${line}`);
  if (activePage && !activePage.isClosed()) {
    const file = `FAILED-${String(number).padStart(2, "0")}.png`;
    await activePage.screenshot({ path: join(outDir, file) }).catch(() => {});
    console.log(`  screenshot: ${join(outDir, file)}`);
  }
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

async function until(what, timeoutMs, probe, intervalMs = 250) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) return last;
    await new Promise((done) => setTimeout(done, intervalMs));
  }
  throw new Error(`timed out after ${seconds(timeoutMs)} waiting for ${what}`);
}

// ----------------------------------------------------------------- browser

let activePage = null; // where a failing step's screenshot comes from
let token = null;
let base = null;

// Reports the UI's error toasts to the console, so they fail the step like
// any other error the user would see.
function reportErrorToasts() {
  const watch = () => {
    const area = document.getElementById("toasts");
    if (!area) return;
    new MutationObserver((mutations) => {
      for (const m of mutations)
        for (const node of m.addedNodes)
          if (node instanceof Element && node.matches('[data-testid="toast-error"]')) console.error(`[e2e] error toast: ${node.textContent}`);
    }).observe(area, { childList: true });
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", watch);
  else watch();
}

async function newContext(viewport, extra = {}) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1, ...extra });
  await context.addInitScript(reportErrorToasts);
  return context;
}

function watchPage(page, label) {
  page.setDefaultTimeout(15_000);
  page.on("console", (message) => {
    const where = message.location()?.url ? ` (${message.location().url}${message.location().lineNumber ? ":" + message.location().lineNumber : ""})` : "";
    appendFileSync(consoleLog, `${new Date().toISOString()} [${label}] ${message.type()}: ${message.text()}${where}\n`);
    if (message.type() === "error") pageErrors.push(`[${label}] console error: ${message.text()}${where}`);
  });
  page.on("pageerror", (error) => {
    appendFileSync(consoleLog, `${new Date().toISOString()} [${label}] uncaught: ${error.stack || error.message}\n`);
    pageErrors.push(`[${label}] uncaught exception: ${error.message}`);
  });
  page.on("crash", () => pageErrors.push(`[${label}] the page crashed`));
  // The UI works offline: nothing may be fetched from anywhere but the server.
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (url.protocol === "data:" || url.protocol === "blob:") return;
    if (url.origin !== new URL(base).origin && !(url.protocol === "ws:" && url.host === new URL(base).host))
      pageErrors.push(`[${label}] a request left the server: ${request.url()}`);
  });
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: join(outDir, name) });
}

// Waits until the page's area has rendered and no loading state is left;
// an error state fails.
async function settled(page, { allowEmpty = false } = {}) {
  await page.waitForLoadState("load");
  await page.waitForFunction(
    (allowEmpty) => {
      const main = document.querySelector("#main");
      return main && (allowEmpty || main.children.length > 0) && !document.querySelector('[data-testid="loading"]');
    },
    allowEmpty,
    { timeout: 15_000 },
  );
  const errors = await page.locator('#main [data-testid="error"]').allTextContents();
  check(errors.length === 0, `the page shows an error state: ${errors.join(" | ")}`);
}

async function goto(page, path) {
  await page.goto(base + path);
  await settled(page);
}

async function api(path, options = {}) {
  const response = await fetch(base + path, { ...options, headers: { Authorization: "Bearer " + token, ...(options.headers ?? {}) } });
  const text = await response.text();
  if (!response.ok) throw new Error(`${options.method ?? "GET"} ${path}: HTTP ${response.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

// ------------------------------------------------------------ accessibility

// axe-core checks a page as it is at that moment against WCAG 2.1 A and AA.
// Violations of impact serious or critical fail the step that ran the check,
// as page errors do (the steps that need it still run); moderate and minor
// ones, and what axe could not decide (incomplete: to review by hand), are
// counted in the log. The full results go to a11y-<name>.json.
// axe's source goes in through page.evaluate, which runs over the DevTools
// protocol and is not subject to the server's Content-Security-Policy
// (script-src 'self'), where addScriptTag's inline <script> would be refused.
// preload: false, because axe's preloading re-parses the stylesheets in
// <style> elements, which the policy (style-src 'self') refuses with a console
// error; axe then leaves out the one rule that needs it, css-orientation-lock
// (the UI's CSS has no orientation media queries).
const axeTags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
const a11yFailures = []; // serious and critical violations not yet charged to a step
const a11ySummary = []; // one line per check

async function a11y(target, name, { colorScheme = null } = {}) {
  const t0 = Date.now();
  if (colorScheme) await target.emulateMedia({ colorScheme });
  let results;
  try {
    if (!(await target.evaluate(() => typeof window.axe?.run === "function"))) await target.evaluate(axeSource + "\n;undefined");
    results = await target.evaluate((tags) => window.axe.run(document, { runOnly: { type: "tag", values: tags }, preload: false }), axeTags);
  } finally {
    if (colorScheme) await target.emulateMedia({ colorScheme: "light" }); // the context's default
  }
  writeFileSync(join(outDir, `a11y-${name}.json`), JSON.stringify(results, null, 1));
  const byImpact = (impacts) => results.violations.filter((v) => impacts.includes(v.impact));
  const rules = (list) => (list.length ? list.map((v) => `${v.id}×${v.nodes.length}`).join(", ") : "none");
  const blocking = byImpact(["critical", "serious"]);
  for (const v of blocking) {
    a11yFailures.push(`[${name}] ${v.id} (${v.impact}): ${v.help} (${v.helpUrl})`);
    for (const node of v.nodes.slice(0, 8)) {
      const detail = [...node.any, ...node.all, ...node.none].map((c) => c.message).filter(Boolean)[0] ?? "";
      a11yFailures.push(`    ${node.target.map((t) => (Array.isArray(t) ? t.join(" >>> ") : t)).join(" | ")}${detail ? ": " + detail : ""}`);
    }
    if (v.nodes.length > 8) a11yFailures.push(`    … and ${v.nodes.length - 8} more`);
  }
  const line = `a11y ${name}: serious/critical: ${rules(blocking)}; moderate: ${rules(byImpact(["moderate"]))}; minor: ${rules(byImpact(["minor"]))}; to review: ${results.incomplete.length} (${seconds(Date.now() - t0)})`;
  a11ySummary.push(line);
  log(line);
  return results;
}

// Presses Tab (from wherever the focus is: the top of a freshly loaded page)
// until `locator`'s element has the focus; returns how many presses it took.
async function tabTo(target, locator, what, limit = 60) {
  const element = await locator.elementHandle();
  for (let presses = 1; presses <= limit; presses++) {
    await target.keyboard.press("Tab");
    if (await element.evaluate((e) => e === document.activeElement)) return presses;
  }
  const at = await target.evaluate(() => document.activeElement?.outerHTML.slice(0, 120));
  throw new Error(`${limit} presses of Tab did not reach ${what} (the focus is on ${at})`);
}

// --------------------------------------------------------------------- run

const watchdog = setTimeout(async () => {
  console.log(`not ok - the run exceeded E2E_TIMEOUT_S=${runLimitS}`);
  await browser?.close().catch(() => {});
  await stopServer(5_000);
  process.exit(1);
}, runLimitS * 1000);
watchdog.unref();

let page; // the main tab at 1280x800
const state = {}; // what later steps need: profile ids, camera, recording

try {
  await step("start the server", async () => {
    base = await startServer();
    log(`server ${base}, data in ${dataDir}, log ${serverLog}`);
  });

  await step("start Chromium", { needs: ["start the server"] }, async () => {
    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs, headless: true });
    log(`Chromium ${browser.version()} (${chromiumPath})`);
    const context = await newContext(desktop);
    page = watchPage(await context.newPage(), "main");
    activePage = page;
  });

  await step("Chromium plays H.264 MP4", { needs: ["start Chromium"] }, async () => {
    // Recordings are H.264 MP4: the browser must play it, or the player step cannot pass.
    const h264 = await page.evaluate(() => document.createElement("video").canPlayType('video/mp4; codecs="avc1.42E01E"'));
    check(h264 === "probably" || h264 === "maybe", `this Chromium cannot play H.264 MP4 (canPlayType('video/mp4; codecs="avc1.42E01E"') is "${h264}")`);
  });

  await step("log in through the form", { needs: ["start Chromium"] }, async () => {
    await page.goto(base + "/");
    await page.waitForURL((url) => url.pathname === "/login", { timeout: 15_000 });
    await page.locator("#username").waitFor();
    await shot(page, "01-login.png");
    await a11y(page, "login");
    await page.locator("#username").fill("admin");
    await page.locator("#password").fill(adminPassword);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL((url) => url.pathname === "/", { timeout: 15_000 });
    token = await page.evaluate(() => localStorage.getItem("safelynx.token"));
    check(token && token.startsWith("slx_"), `no session token in localStorage after signing in (got ${token})`);
    await settled(page);
  });

  await step("enrol rose_leslie on the Profiles page", { needs: ["log in through the form"] }, async () => {
    const photos = readdirSync(roseDir).filter((f) => statSync(join(roseDir, f)).isFile()).sort().map((f) => join(roseDir, f));
    check(photos.length > 0, `no photos in ${roseDir}`);
    await goto(page, "/profiles");
    await page.locator('[data-testid="enrol-open"]').click();
    await page.locator("#enrol-name").waitFor();
    await a11y(page, "profiles-enrol-dialog");
    await a11y(page, "profiles-enrol-dialog-dark", { colorScheme: "dark" });
    await page.locator("#enrol-name").fill("Rose Leslie");
    await page.locator("#enrol-classification").selectOption("known");
    await page.locator("#enrol-photos").setInputFiles(photos);
    await page.locator('[data-testid="enrol-submit"]').click();
    // The new profile shows up: the dialog may open its page, or leave the
    // list, which then has its card.
    const card = page.locator('[data-testid="profile-card"]', { hasText: "Rose Leslie" }).first();
    await until("the new profile's card or page", 30_000, async () =>
      /^\/profiles\/[^/]+$/.test(new URL(page.url()).pathname) || (await card.isVisible()));
    if (new URL(page.url()).pathname !== "/profiles") {
      log(`enrolling opened the profile's page ${new URL(page.url()).pathname}`);
      await settled(page);
      await until("the profile page to show the name Rose Leslie", 15_000, async () =>
        (await page.locator("#profile-name").count()) > 0 && (await page.locator("#profile-name").inputValue()) === "Rose Leslie");
      await goto(page, "/profiles");
      await card.waitFor();
    }
    const listed = await api("/api/v1/profiles?q=" + encodeURIComponent("Rose Leslie"));
    check(listed.total === 1, `expected one profile named Rose Leslie, the API lists ${listed.total}`);
    const rose = listed.items[0];
    check(rose.classification === "known", `Rose Leslie is ${rose.classification}, not known`);
    check(rose.embedding_count === photos.length, `Rose Leslie has ${rose.embedding_count} face descriptors, expected ${photos.length} (one per photo)`);
    state.roseId = rose.id;
  });

  await step("keyboard: Tab to \"Enrol a person\" on /profiles, Enter opens the dialog, Escape gives the focus back", { needs: ["log in through the form"] }, async () => {
    await goto(page, "/profiles");
    const button = page.getByRole("button", { name: "Enrol a person", exact: true });
    const presses = await tabTo(page, button, 'the "Enrol a person" button');
    await page.keyboard.press("Enter");
    const dialog = page.locator('[data-testid="enrol-dialog"]');
    await dialog.waitFor();
    await until("the focus to move into the open dialog", 5_000, () => dialog.evaluate((d) => d.open && d.contains(document.activeElement)), 50);
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    check(await button.evaluate((b) => b === document.activeElement), `after Escape the focus is on ${await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 120))}, not on the button that opened the dialog`);
    log(`${presses} Tab presses from the top of /profiles to "Enrol a person"`);
  });

  await step("add a file camera on the Cameras page", { needs: ["log in through the form"] }, async () => {
    await goto(page, "/cameras");
    await page.locator('[data-testid="camera-add"]').click();
    await page.locator("#camera-name").waitFor();
    await a11y(page, "cameras-add-dialog");
    await a11y(page, "cameras-add-dialog-dark", { colorScheme: "dark" });
    await page.locator("#camera-name").fill("Stage");
    await page.locator("#camera-kind").selectOption("file");
    await page.locator("#camera-source").fill(clip);
    await page.locator("#camera-location").fill("Theatre");
    await page.locator('[data-testid="camera-save"]').click();
    await page.locator('[data-testid="camera-row"]', { hasText: "Stage" }).first().waitFor();
    const cameras = await api("/api/v1/cameras");
    const camera = cameras.items.find((c) => c.name === "Stage");
    check(camera, "the API does not list the camera Stage");
    check(camera.kind === "file" && camera.source === clip && camera.location === "Theatre", `the camera was stored as ${JSON.stringify(camera)}`);
    state.cameraId = camera.id;
  });

  await step("keyboard: Tab from the top of /cameras reaches the camera's Start button", { needs: ["add a file camera on the Cameras page"] }, async () => {
    await goto(page, "/cameras");
    const start = page.locator('[data-testid="camera-row"]', { hasText: "Stage" }).first().locator('[data-testid="camera-start"]');
    await start.waitFor();
    log(`${await tabTo(page, start, "the Start button of the camera Stage")} Tab presses from the top of /cameras to Start`);
  });

  let dashboard; // a second tab on the dashboard, opened before the camera starts
  await step("open the dashboard, start the camera, see a sighting arrive live", { needs: ["add a file camera on the Cameras page"] }, async () => {
    dashboard = watchPage(await page.context().newPage(), "dashboard");
    await dashboard.goto(base + "/");
    await settled(dashboard);
    await dashboard.locator('[data-testid="recent-sightings"]').waitFor({ state: "attached" }); // empty: no size yet
    check((await dashboard.locator('[data-testid="sighting-item"]').count()) === 0, "the dashboard lists sightings before the camera started");
    // Connected to the event stream (the shell's indicator) before anything can happen.
    await dashboard.locator('[data-testid="connection"]', { hasText: "Live" }).waitFor({ timeout: 10_000 });
    const origin = await dashboard.evaluate(() => {
      window.__e2eMarker = "still the same document";
      return performance.timeOrigin;
    });

    const row = page.locator('[data-testid="camera-row"]', { hasText: "Stage" }).first();
    await row.locator('[data-testid="camera-start"]').click();
    const startedAt = Date.now();
    await until("the camera to leave `stopped`", 10_000, async () => (await api(`/api/v1/cameras/${state.cameraId}`)).status !== "stopped");

    activePage = dashboard;
    await dashboard.locator('[data-testid="recent-sightings"] [data-testid="sighting-item"]').first().waitFor({ timeout: SIGHTING_TIMEOUT_MS });
    log(`first sighting on the dashboard ${seconds(Date.now() - startedAt)} after the camera started`);
    const same = await dashboard.evaluate(() => ({ marker: window.__e2eMarker, origin: performance.timeOrigin, path: location.pathname }));
    check(same.marker === "still the same document" && same.origin === origin, "the dashboard reloaded to show the sighting (it must arrive live)");
    check(same.path === "/", `the dashboard navigated away to ${same.path}`);
    await dashboard.locator('[data-testid="sighting-item"]').first().scrollIntoViewIfNeeded();
    await shot(dashboard, "02-dashboard.png");
    await a11y(dashboard, "dashboard");
    await a11y(dashboard, "dashboard-dark", { colorScheme: "dark" });
  });

  await step("the sighted stranger is a new unknown profile", { needs: ["open the dashboard, start the camera, see a sighting arrive live"] }, async () => {
    // Who is Lin-Manuel Miranda: the profile nearest his photo (the clip may
    // also show Alex Lacamoire, small, at the piano). A still photo against a
    // profile made from video frames may be a near miss: identify then says
    // "uncertain" and lists it as the nearest candidate instead of naming it.
    const lin = await until("a profile near lin1.png", 30_000, async () => {
      const found = await api("/api/v1/identify", { method: "POST", headers: { "Content-Type": "image/png" }, body: readFileSync(linPhoto) });
      const face = found.faces?.[0];
      if (face?.profile) return face.profile;
      if (face) log(`identify: ${face.verdict}, candidates ${JSON.stringify(face.candidates ?? [])}`);
      return face?.verdict === "uncertain" ? face.candidates?.[0]?.profile ?? null : null;
    }, 1000);
    check(lin.id !== state.roseId, "Lin-Manuel Miranda's photo matches Rose Leslie");
    const profile = await api(`/api/v1/profiles/${lin.id}`);
    check(profile.classification === "unknown" && profile.name === null, `the sighted profile is ${JSON.stringify({ name: profile.name, classification: profile.classification })}, expected an unnamed unknown`);
    state.linId = lin.id;
  });

  await step("open the stranger's profile, rename and flag it", { needs: ["the sighted stranger is a new unknown profile"] }, async () => {
    activePage = dashboard;
    // From the dashboard's sighting of him; else (no such link there) from
    // the Profiles page filtered by classification unknown.
    const link = dashboard.locator(`[data-testid="sighting-item"] a[href="/profiles/${state.linId}"]`).first();
    const linked = await link.waitFor({ timeout: 15_000 }).then(() => true, () => false);
    if (linked) {
      log("opening the profile from the dashboard's sighting item");
      await link.click();
    } else {
      log(`no sighting item on the dashboard links to /profiles/${state.linId}; opening it from /profiles?classification=unknown`);
      await goto(dashboard, "/profiles?classification=unknown");
      const card = dashboard.locator(`[data-testid="profile-card"][href="/profiles/${state.linId}"], [data-testid="profile-card"]:has(a[href="/profiles/${state.linId}"])`).first();
      await card.waitFor();
      const inner = card.locator(`a[href="/profiles/${state.linId}"]`);
      await ((await inner.count()) ? inner.first() : card).click();
    }
    await dashboard.waitForURL((url) => url.pathname === `/profiles/${state.linId}`);
    await settled(dashboard);
    const name = dashboard.locator("#profile-name");
    await name.waitFor();
    check((await dashboard.locator("#profile-classification").inputValue()) === "unknown", "the profile page does not show the classification unknown");
    await name.fill("Lin-Manuel Miranda");
    await dashboard.locator('[data-testid="profile-save"]').click();
    await until("the new name to be stored", 10_000, async () => (await api(`/api/v1/profiles/${state.linId}`)).name === "Lin-Manuel Miranda");
    await dashboard.locator("#profile-classification").selectOption("flagged");
    await dashboard.locator('[data-testid="profile-save"]').click();
    await until("the classification flagged to be stored", 10_000, async () => (await api(`/api/v1/profiles/${state.linId}`)).classification === "flagged");
    // The same, read with the page's own token.
    const stored = await dashboard.evaluate(async (id) => {
      const response = await fetch(`/api/v1/profiles/${id}`, { headers: { Authorization: "Bearer " + localStorage.getItem("safelynx.token") } });
      return response.json();
    }, state.linId);
    check(stored.name === "Lin-Manuel Miranda" && stored.classification === "flagged", `the API has ${JSON.stringify({ name: stored.name, classification: stored.classification })}`);
    // Saved in the page too: a form with unsaved edits would ask before the reload.
    await dashboard.locator("form.profile-form:not(.is-dirty)").waitFor({ timeout: 5_000 });
    await dashboard.reload();
    await settled(dashboard);
    check((await dashboard.locator("#profile-name").inputValue()) === "Lin-Manuel Miranda", "after a reload the profile page does not show the new name");
    check((await dashboard.locator("#profile-classification").inputValue()) === "flagged", "after a reload the profile page does not show flagged");
    await shot(dashboard, "05-profile.png");
    await a11y(dashboard, "profile");
    await a11y(dashboard, "profile-dark", { colorScheme: "dark" });
  });

  if (dashboard && !dashboard.isClosed()) {
    activePage = page;
    await dashboard.close();
  }

  await step("play a recording on the Recordings page", { needs: ["open the dashboard, start the camera, see a sighting arrive live", "Chromium plays H.264 MP4"] }, async () => {
    const finished = await until("the camera's recordings to be finished (end not null)", 60_000, async () => {
      const camera = await api(`/api/v1/cameras/${state.cameraId}`);
      const recordings = await api(`/api/v1/recordings?camera_id=${state.cameraId}`);
      const done = camera.status === "stopped" && recordings.items.length > 0 && recordings.items.every((r) => r.end !== null);
      return done ? recordings : null;
    }, 500);
    log(`${finished.total} recording(s), the first ${finished.items[0].duration_s} s`);
    await goto(page, "/recordings");
    const rows = page.locator('[data-testid="recording-row"]');
    await rows.first().waitFor();
    check((await rows.count()) === finished.items.length, `the page lists ${await rows.count()} recordings, the API ${finished.items.length}`);
    await rows.first().click();
    const player = page.locator('video[data-testid="recording-player"]');
    await player.waitFor();
    await player.evaluate(async (video) => {
      video.muted = true;
      await video.play();
    });
    await page.waitForFunction(
      () => {
        const video = document.querySelector('video[data-testid="recording-player"]');
        if (video?.error) throw new Error(`the player failed: MediaError ${video.error.code} ${video.error.message}`);
        return video && video.currentTime > 0.5;
      },
      undefined,
      { timeout: 15_000 },
    );
    await player.evaluate((video) => video.pause());
    await shot(page, "08-recordings.png");
    await a11y(page, "recordings");
    await a11y(page, "recordings-dark", { colorScheme: "dark" });
  });

  // The camera plays the clip again (a restarted camera starts a new visit):
  // the flagged man is sighted, and every open page shows the alert.
  await step("a flagged person's sighting raises an alert toast and a notification", { needs: ["open the stranger's profile, rename and flag it", "play a recording on the Recordings page"] }, async () => {
    activePage = page;
    await goto(page, "/cameras");
    const row = page.locator('[data-testid="camera-row"]', { hasText: "Stage" }).first();
    await row.locator('[data-testid="camera-start"]').click();
    const toast = page.locator('[data-testid="toast-alert"]', { hasText: "Lin-Manuel Miranda" }).first();
    await toast.waitFor({ timeout: SIGHTING_TIMEOUT_MS });
    check((await toast.textContent()).includes("flagged"), `the alert toast says ${JSON.stringify(await toast.textContent())}`);
    check(!(await page.locator('[data-testid="alert-badge"]').isHidden()), "the menu shows no unread alert");
    await goto(page, "/alerts");
    const item = page.locator('[data-testid="alert-item"]', { hasText: "Lin-Manuel Miranda" }).first();
    await item.waitFor();
    check((await item.locator('[data-testid="alert-profile"]').getAttribute("href")) === `/profiles/${state.linId}`, "the alert does not link to the profile");
    await shot(page, "11-alerts.png");
    await a11y(page, "alerts");
    await a11y(page, "alerts-dark", { colorScheme: "dark" });
    await until("the camera to stop at the end of the clip", 60_000, async () => (await api(`/api/v1/cameras/${state.cameraId}`)).status === "stopped", 500);
  });

  // The page's camera streams to the server as a `browser` camera, and stops.
  await step("use this browser's camera on the Live page", { needs: ["log in through the form"] }, async () => {
    const context = await newContext(desktop);
    await context.grantPermissions(["camera"], { origin: base });
    await context.addInitScript((t) => localStorage.setItem("safelynx.token", t), token);
    const live = watchPage(await context.newPage(), "browser-camera");
    activePage = live;
    try {
      await goto(live, "/live");
      await live.locator('[data-testid="browser-camera-start"]').click();
      await live.locator("#browser-camera-name").fill("Laptop");
      await live.locator('[data-testid="browser-camera-create"]').click();
      await live.locator('[data-testid="browser-camera-status"]', { hasText: "Sending" }).waitFor({ timeout: 20_000 });
      const cameras = await api("/api/v1/cameras?per_page=200");
      const laptop = cameras.items.find((c) => c.name === "Laptop");
      check(laptop && laptop.kind === "browser", `no browser camera named Laptop: ${JSON.stringify(cameras.items.map((c) => [c.name, c.kind]))}`);
      const streaming = await until("the server to receive the page's frames", 20_000, async () => {
        const c = await api(`/api/v1/cameras/${laptop.id}`);
        return c.status === "active" && c.live?.frames > 5 ? c : null;
      }, 500);
      log(`the browser camera delivered ${streaming.live.frames} frames at ${streaming.live.fps.toFixed(1)} fps`);
      await live.locator('[data-testid="browser-camera-stop"]').click();
      await until("the browser camera to be stopped", 10_000, async () => (await api(`/api/v1/cameras/${laptop.id}`)).status === "stopped", 250);
    } finally {
      activePage = page;
      await context.close();
    }
  });

  await step("admin: add a viewer on the Users page", { needs: ["log in through the form"] }, async () => {
    activePage = page;
    await goto(page, "/users");
    await page.locator('[data-testid="user-row"][data-user="admin"]').waitFor();
    await page.locator("#user-name").fill("vic");
    // (A refused password would be a 422, which Chromium logs as a console
    // error; the policy's answers are tested in tests/api/api_users_test.cpp.)
    await page.locator("#user-password").fill("vic-viewer-secret");
    await page.locator('[data-testid="user-create"]').click();
    await page.locator('[data-testid="user-row"][data-user="vic"]').waitFor();
    check((await page.locator("#role-" + (await api("/api/v1/users")).items.find((u) => u.username === "vic").id).inputValue()) === "viewer", "a new user is not a viewer by default");
    await shot(page, "14-users.png");
    await a11y(page, "users");
  });

  await step("a viewer is offered no changes", { needs: ["admin: add a viewer on the Users page"] }, async () => {
    const context = await newContext({ width: 1280, height: 800 });
    try {
      const viewer = watchPage(await context.newPage(), "viewer");
      activePage = viewer;
      await viewer.goto(base + "/login");
      await viewer.locator("#username").fill("vic");
      await viewer.locator("#password").fill("vic-viewer-secret");
      await viewer.getByRole("button", { name: "Sign in" }).click();
      await viewer.waitForURL((url) => url.pathname === "/", { timeout: 15_000 });
      await viewer.waitForFunction(() => document.body.dataset.role === "viewer");
      await goto(viewer, "/profiles");
      check(!(await viewer.locator('[data-testid="enrol-open"]').isVisible()), "a viewer is offered 'Enrol a person'");
      check(!(await viewer.locator('nav a[data-nav="/users"]').isVisible()), "a viewer sees the Users menu entry");
      check(!(await viewer.locator('nav a[data-nav="/audit"]').isVisible()), "a viewer sees the Audit log menu entry");
      await goto(viewer, "/cameras");
      check(!(await viewer.locator('[data-testid="camera-add"]').isVisible()), "a viewer is offered 'Add camera'");
      await goto(viewer, "/settings");
      check(!(await viewer.locator('[data-testid="settings-save"]').isVisible()), "a viewer is offered to save settings");
      // Ranges and help come from GET /api/v1/settings/schema, not from the page.
      const minFace = viewer.locator('[data-setting="detection.min_face_size"]');
      check((await minFace.getAttribute("min")) === "16" && (await minFace.getAttribute("max")) === "4096", "the minimum face size field lacks the schema's range");
      const minFaceHelp = await viewer.locator('[data-testid="setting-help-detection.min_face_size"]').textContent();
      check(minFaceHelp?.includes("16 to 4096 px; default 40 px") ?? false, `the minimum face size help is "${minFaceHelp}"`);
      await viewer.locator('[data-testid="my-password"]').waitFor();
      await a11y(viewer, "settings-viewer");
    } finally {
      activePage = page;
      await context.close();
    }
  });

  // The changes of the steps above, as the Audit log page shows them (admins
  // only: the viewer above is not offered it). Then a filter by action family
  // drops the rows of other families, survives a reload (it is in the URL),
  // and combined with an actor that has no such entries leaves the empty state.
  await step("admin: the Audit log page shows the recorded changes and filters them", { needs: ["enrol rose_leslie on the Profiles page"] }, async () => {
    activePage = page;
    // A failed sign-in, sent from here: in the browser its 401 would be a console error.
    const refused = await fetch(base + "/api/v1/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: "e2e-intruder", password: "not-the-password" }),
    });
    check(refused.status === 401, `a wrong password got HTTP ${refused.status}, expected 401`);
    await goto(page, "/");
    const menuEntry = page.locator('nav a[data-nav="/audit"]');
    await menuEntry.waitFor({ state: "visible" }); // once the role is known
    await menuEntry.click();
    await page.waitForURL((url) => url.pathname === "/audit");
    await settled(page);
    const rows = page.locator('[data-testid="audit-row"]');
    await rows.first().waitFor();
    const byAction = (action) => page.locator(`[data-testid="audit-row"][data-action="${action}"]`);
    // What the earlier steps did (those that passed).
    const expected = [["auth.login", "admin"], ["auth.login_failed", "e2e-intruder"], ["profile.create", "Rose Leslie"]];
    if (doneSteps.has("add a file camera on the Cameras page")) expected.push(["camera.create", "Stage"]);
    if (doneSteps.has("open the stranger's profile, rename and flag it")) expected.push(["profile.update", "Lin-Manuel Miranda"]);
    if (doneSteps.has("admin: add a viewer on the Users page")) expected.push(["user.create", "vic"]);
    for (const [action] of expected) {
      const row = byAction(action).first();
      check((await row.count()) > 0 && (await row.locator('[data-testid="audit-action-cell"]').innerText()).trim() === action, `the Audit log shows no ${action} entry (it shows: ${(await rows.locator('[data-testid="audit-action-cell"]').allInnerTexts()).join(", ")})`);
    }
    const intruder = byAction("auth.login_failed").first();
    check((await intruder.locator('[data-testid="audit-actor-cell"]').innerText()).includes("e2e-intruder"), `the failed sign-in's actor is ${JSON.stringify(await intruder.locator('[data-testid="audit-actor-cell"]').innerText())}`);
    const times = await rows.locator("time").evaluateAll((list) => list.map((t) => Date.parse(t.getAttribute("datetime"))));
    check(times.every((t, i) => i === 0 || times[i - 1] >= t), "the entries are not newest first");
    check((await page.locator("#main table button, #main table input, #main table select").count()) === 0, "the Audit log offers controls that change entries");
    // The old and new values, opened: the values the earlier steps stored, as text.
    for (const [action, value] of expected) {
      const details = byAction(action).locator('[data-testid="audit-values"]');
      if ((await details.count()) === 0) continue; // auth.*: no values
      for (const summary of await details.locator("summary").all()) await summary.click();
      await page.locator(`[data-testid="audit-row"][data-action="${action}"] pre`, { hasText: value }).first().waitFor({ timeout: 5_000 })
        .catch(() => { throw new Error(`no opened ${action} entry shows ${JSON.stringify(value)}`); });
    }
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, "15-audit-values.png");
    await a11y(page, "audit-values");
    await a11y(page, "audit-values-dark", { colorScheme: "dark" });

    // Filter by the action family profile.: the failed sign-in goes, profiles stay.
    await page.locator("#audit-action").selectOption("profile.");
    await until("the list to hold only profile.* entries", 10_000, async () => {
      if (new URL(page.url()).searchParams.get("action") !== "profile.") return false;
      const actions = await rows.evaluateAll((list) => list.map((r) => r.dataset.action));
      return actions.length > 0 && actions.every((a) => a.startsWith("profile.")) && !(await page.locator('[data-testid="loading"]').count());
    });
    check((await byAction("auth.login_failed").count()) === 0, "filtered by profile. the failed sign-in is still listed");
    check((await byAction("profile.create").count()) > 0, "filtered by profile. the profile.create entry is gone");
    await page.reload();
    await settled(page);
    check((await page.locator("#audit-action").inputValue()) === "profile.", "after a reload the action filter is not profile. (it is not kept in the URL)");
    await rows.first().waitFor();
    check((await byAction("auth.login_failed").count()) === 0, "after a reload the failed sign-in is listed again");
    await shot(page, "16-audit-filtered.png");
    // And an actor who changed no profile: nothing matches both.
    await page.locator("#audit-actor").fill("e2e-intruder");
    await page.locator('#main [data-testid="empty"]', { hasText: "No entries match these filters" }).waitFor({ timeout: 10_000 });
    check(new URL(page.url()).searchParams.get("actor") === "e2e-intruder", `the URL ${page.url()} does not keep the actor`);
    await page.locator('#main [data-testid="empty"]').getByRole("button", { name: "Clear filters" }).click();
    await byAction("auth.login_failed").first().waitFor({ timeout: 10_000 });
    check(new URL(page.url()).search === "", `after "Clear filters" the URL still has ${new URL(page.url()).search}`);
  });

  const pages = [
    ["03-live.png", "/live"],
    ["04-profiles.png", "/profiles"],
    ["06-timeline.png", "/timeline"],
    ["07-heatmap.png", "/heatmap"],
    ["09-cameras.png", "/cameras"],
    ["10-settings.png", "/settings"],
    ["17-audit.png", "/audit"],
  ];
  for (const [file, path] of pages) {
    await step(`page ${path} at 1280x800`, { needs: ["log in through the form"] }, async () => {
      activePage = page;
      await goto(page, path);
      if (path === "/live") await page.waitForTimeout(1500); // a frame of any stream
      await shot(page, file);
      const name = path.slice(1);
      await a11y(page, name);
      await a11y(page, name + "-dark", { colorScheme: "dark" });
    });
  }

  for (const [file, path] of [["12-dashboard-phone.png", "/"], ["13-profiles-phone.png", "/profiles"], ["18-audit-phone.png", "/audit"]]) {
    let context = null;
    await step(`page ${path} at 375x812 (phone)`, { needs: ["log in through the form"] }, async () => {
      context = await newContext(phone, { isMobile: true, hasTouch: true });
      await context.addInitScript((t) => localStorage.setItem("safelynx.token", t), token);
      const small = watchPage(await context.newPage(), "phone");
      activePage = small;
      await goto(small, path);
      // The audit log's values opened: their JSON must wrap, not widen the page.
      if (path === "/audit") {
        await small.locator('[data-testid="audit-values"]').evaluateAll((list) => list.forEach((d) => (d.open = true)));
        await small.locator('[data-testid="audit-values"]').first().scrollIntoViewIfNeeded();
      }
      await shot(small, file);
      await a11y(small, (path === "/" ? "dashboard" : path.slice(1)) + "-phone");
      const overflow = await small.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      check(overflow <= 1, `the page is ${overflow}px wider than the phone's screen (horizontal scrolling)`);
    });
    activePage = page;
    await context?.close();
  }

  // Issue 15's UI bugs, each with the check that would have caught it (ui-checks.mjs).
  await uiChecks({
    step, check, until, goto, settled, api, a11y, shot, log, tabTo, newContext, watchPage, state, page, token,
    setActivePage: (p) => (activePage = p),
  });
  // Merging (merge-checks.mjs): last, as it flags Rose Leslie's profile.
  const rosePhoto = join(roseDir, readdirSync(roseDir).filter((f) => statSync(join(roseDir, f)).isFile()).sort()[0]);
  await mergeChecks({
    step, check, until, goto, settled, api, log, state, page, token, base, rosePhoto,
    setActivePage: (p) => (activePage = p),
  });
  // Reviewing strangers, a profile's faces, correcting sightings, search by photo (review-checks.mjs).
  await reviewChecks({
    step, check, until, goto, api, a11y, shot, log, newContext, watchPage, state, page, token, base, testdata,
    setActivePage: (p) => (activePage = p),
  });
} finally {
  await new Promise((done) => setTimeout(done, 200));
  if (pageErrors.length) {
    results.push({ name: "no page errors after the last step", status: "failed" });
    console.log(`not ok ${results.length} - no page errors after the last step`);
    for (const e of pageErrors) console.log(`  ${e}`);
  }
  await browser?.close().catch(() => {});
  const ended = await stopServer();
  if (ended) {
    const how = ended.killed ? "had to be killed (SIGKILL) after SIGTERM" : ended.signal ? `ended by ${ended.signal}` : `exited with status ${ended.code}`;
    const clean = !ended.killed && ended.code === 0;
    results.push({ name: "the server stops on SIGTERM", status: clean ? "ok" : "failed" });
    console.log(`${clean ? "ok" : "not ok"} ${results.length} - the server stops on SIGTERM (${how})`);
    if (!clean) console.log(`  server log tail:\n${tail(serverLog).replace(/^/gm, "    ")}`);
  }
}

const failed = results.filter((r) => r.status === "failed");
const skipped = results.filter((r) => r.status === "skipped");
const shots = readdirSync(outDir).filter((f) => f.endsWith(".png")).sort();
console.log(`1..${results.length}`);
log(`${results.length - failed.length - skipped.length} passed, ${failed.length} failed, ${skipped.length} skipped in ${seconds(Date.now() - started)}`);
log(`output in ${outDir}: ${shots.join(", ") || "no screenshots"}; server.log, browser-console.log, ${a11ySummary.length} a11y-*.json`);
if (failed.length) {
  console.log(`FAILED: ${failed.map((r) => r.name).join("; ")}`);
  process.exit(1);
}
process.exit(0);
