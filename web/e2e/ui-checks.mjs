// End-to-end checks of issue 15's UI bugs, each one as a step that would have
// failed before its fix. Run by run.mjs after its own steps, with its runner
// and helpers (`t`), on the data those steps made (Lin-Manuel Miranda's
// profile, the Stage camera's sightings and recordings).
//
// - the recordings list shows each recording's sighting count without Refresh
// - a dashboard sighting's photo opens the sighting (mouse and keyboard)
// - unsaved profile edits ask before a link, Back, or closing the tab drops them
//   (and changed settings before a link)
// - on a phone (375x667): the timeline's axis labels, a camera's error text and
//   the player's title fit the screen
// - no "descriptor" or "distance" in what the pages show, and times in one format
// - and one found on the way: "Skip to content" did nothing

const phone = { width: 375, height: 667 };

// What the pages may show as a time (src/time.ts).
const MONTH = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)";
const ABSOLUTE = new RegExp(`^\\d{1,2} ${MONTH} \\d{4}, \\d{2}:\\d{2}:\\d{2}$`);
const RELATIVE = /^(Seen )?(just now|\d+ (min|h|d) ago|in \d+ (min|h|d))$/;
const CLOCK = /^\d{2}:\d{2}:\d{2}$/;
// Times in any other format, anywhere in the text: 2:05 PM, 12/7/2026, raw ISO.
const OTHER_FORMATS = [/\b\d{1,2}:\d{2}(:\d{2})?\s?[AP]M\b/i, /\b\d{1,2}\/\d{1,2}\/\d{2,4}\b/, /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/];
const JARGON = /\b(descriptors?|distances?)\b/i;

export async function uiChecks(t) {
  const { step, check, until, goto, settled, api, a11y, shot, log, tabTo, state, page } = t;
  const needsLogin = ["log in through the form"];
  const needsSightings = ["open the dashboard, start the camera, see a sighting arrive live"];
  const needsRecordings = ["play a recording on the Recordings page"];
  const needsProfile = ["open the stranger's profile, rename and flag it"];

  // A phone's tab, signed in, for `body`; closed afterwards.
  async function onPhone(label, body) {
    const context = await t.newContext(phone, { isMobile: true, hasTouch: true });
    try {
      await context.addInitScript((token) => localStorage.setItem("safelynx.token", token), t.token);
      const small = t.watchPage(await context.newPage(), label);
      t.setActivePage(small);
      try {
        await body(small);
      } catch (error) {
        // The runner's screenshot would be of the main tab: this one closes first.
        await shot(small, `FAILED-${label}.png`).catch(() => {});
        throw error;
      }
    } finally {
      t.setActivePage(page);
      await context.close();
    }
  }

  // The first load of the list drew "…" for every count (taken from the list
  // only after the rows were drawn); only Refresh showed them.
  await step("recordings: each row shows its sighting count without Refresh", { needs: needsRecordings }, async () => {
    t.setActivePage(page);
    const listed = await api("/api/v1/recordings?per_page=25");
    const want = Object.fromEntries(listed.items.map((r) => [r.id, String(r.sighting_count)]));
    check(listed.items.some((r) => r.sighting_count > 0), `no recording has a sighting: ${JSON.stringify(listed.items.map((r) => r.sighting_count))}`);
    await goto(page, "/recordings");
    await page.locator('[data-testid="recording-row"]').first().waitFor();
    const cells = () => page.locator('[data-testid="recording-row"]').evaluateAll((rows) =>
      rows.map((r) => [r.dataset.recordingId, r.querySelector('[data-testid="recording-sighting-count"]').textContent]));
    const shown = await until("the rows' sighting counts", 5_000, async () => {
      const now = await cells();
      return now.length > 0 && now.every(([id, text]) => text === want[id]) ? now : null;
    }).catch(async () => {
      throw new Error(`without Refresh the counts are ${JSON.stringify(await cells())}, the API's ${JSON.stringify(want)}`);
    });
    log(`sighting counts shown on the first load: ${shown.map(([, text]) => text).join(", ")}`);
  });

  // The photo was a plain <img>: clicking it did nothing.
  await step("dashboard: a sighting's photo opens the sighting, by mouse and by keyboard", { needs: needsSightings }, async () => {
    t.setActivePage(page);
    await goto(page, "/");
    const item = page.locator('[data-testid="recent-sightings"] [data-testid="sighting-item"]').first();
    await item.waitFor();
    const photo = item.locator('[data-testid="sighting-photo"]');
    check((await photo.count()) === 1 && (await photo.evaluate((e) => e.tagName)) === "BUTTON", "the sighting's photo is not a button");
    const who = (await item.locator(".dash-sighting-who").innerText()).split("\n")[0].trim();
    const dialog = page.locator('[data-testid="sighting-dialog"]');
    await photo.click();
    await dialog.waitFor({ timeout: 5_000 }).catch(() => { throw new Error("a click on the photo opened nothing"); });
    const title = await dialog.locator("h2").innerText();
    check(title.includes(who), `the dialog is titled ${JSON.stringify(title)}, the sighting is of ${JSON.stringify(who)}`);
    await a11y(page, "dashboard-sighting-dialog");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    check(await photo.evaluate((e) => e === document.activeElement), "after Escape the focus is not back on the photo");
    // From the top of the page with Tab, then Enter.
    await goto(page, "/");
    const first = page.locator('[data-testid="recent-sightings"] [data-testid="sighting-photo"]').first();
    await first.waitFor();
    const presses = await tabTo(page, first, "the first sighting's photo", 80);
    await page.keyboard.press("Enter");
    await dialog.waitFor({ timeout: 5_000 }).catch(() => { throw new Error("Enter on the focused photo opened nothing"); });
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    log(`${presses} Tab presses from the top of the dashboard to the first sighting's photo`);
  });

  // Edits were dropped without a word by any navigation.
  await step("profile: unsaved edits ask before a link, Back or closing the tab drops them", { needs: needsProfile }, async () => {
    t.setActivePage(page);
    const path = `/profiles/${state.linId}`;
    const at = () => new URL(page.url()).pathname;
    const confirm = page.locator('[data-testid="confirm-dialog"]');
    const notes = page.locator("#profile-notes");
    // Opened from the list, so that Back stays in this document (popstate).
    await goto(page, "/profiles");
    await page.locator(`[data-testid="profile-card"][data-profile-id="${state.linId}"] [data-testid="profile-link"]`).click();
    await page.waitForURL((url) => url.pathname === path);
    await settled(page);
    await notes.waitFor();
    const saved = await notes.inputValue();
    const edited = saved + " (e2e: not saved)";

    // A clean form leaves without a question.
    await page.locator('.breadcrumb a[href="/profiles"]').click();
    await page.waitForURL((url) => url.pathname === "/profiles");
    check((await confirm.count()) === 0, "leaving an unchanged profile asked");
    await page.goBack();
    await page.waitForURL((url) => url.pathname === path);
    await settled(page);
    await notes.fill(edited);

    // 1. An in-app link: the app's dialog; "Stay" keeps page and edit.
    await page.locator('.breadcrumb a[href="/profiles"]').click();
    await confirm.waitFor({ timeout: 5_000 }).catch(() => { throw new Error("a link away from unsaved edits did not ask"); });
    check(at() === path, `while asking, the URL is ${at()}`);
    check((await confirm.innerText()).includes("not saved"), `the question says ${JSON.stringify(await confirm.innerText())}`);
    await a11y(page, "profile-leave-dialog");
    await a11y(page, "profile-leave-dialog-dark", { colorScheme: "dark" });
    await confirm.locator('[data-testid="confirm-cancel"]').click();
    await confirm.waitFor({ state: "detached" });
    check(at() === path && (await notes.inputValue()) === edited, `after "Stay" the page is ${at()} with notes ${JSON.stringify(await notes.inputValue())}`);

    // 2. Back: the URL is put back while the dialog asks.
    await page.goBack();
    await confirm.waitFor({ timeout: 5_000 }).catch(() => { throw new Error("Back from unsaved edits did not ask"); });
    await until("the URL to be the profile's again while asking", 5_000, async () => at() === path, 100);
    await confirm.locator('[data-testid="confirm-cancel"]').click();
    await confirm.waitFor({ state: "detached" });
    check(at() === path && (await notes.inputValue()) === edited, `after Back and "Stay" the page is ${at()} with notes ${JSON.stringify(await notes.inputValue())}`);

    // 3. Closing the tab: the browser's own question (beforeunload), in a tab of its own.
    const tab = t.watchPage(await page.context().newPage(), "profile-tab");
    try {
      await goto(tab, path);
      await tab.locator("#profile-notes").fill(edited);
      const asked = new Promise((done) => tab.once("dialog", done));
      await tab.close({ runBeforeUnload: true });
      const dialog = await Promise.race([asked, new Promise((done) => setTimeout(() => done(null), 5_000))]);
      check(dialog, "closing the tab with unsaved edits did not ask");
      check(dialog.type() === "beforeunload", `closing the tab showed a ${dialog.type()} dialog`);
      await dialog.dismiss();
      check(!tab.isClosed() && (await tab.locator("#profile-notes").inputValue()) === edited, "after staying, the tab or its edit is gone");
    } finally {
      if (!tab.isClosed()) await tab.close();
    }

    // 4. Leaving on purpose: the edit is dropped, not saved.
    await page.locator('nav a[data-nav="/timeline"]').click();
    await confirm.waitFor({ timeout: 5_000 });
    await confirm.locator('[data-testid="confirm-ok"]').click();
    await page.waitForURL((url) => url.pathname === "/timeline");
    await settled(page);
    check((await api(`/api/v1/profiles/${state.linId}`)).notes === saved, "leaving saved the discarded edit");
    await page.goBack();
    await page.waitForURL((url) => url.pathname === path);
    await settled(page);
    await notes.waitFor();
    check((await notes.inputValue()) === saved, `back on the profile, the notes are ${JSON.stringify(await notes.inputValue())}`);
    check((await confirm.count()) === 0, "going back to the profile asked");
  });

  // The same guard on the settings form (an admin's changes).
  await step("settings: changed settings ask before a link drops them", { needs: needsLogin }, async () => {
    t.setActivePage(page);
    const confirm = page.locator('[data-testid="confirm-dialog"]');
    await goto(page, "/settings");
    const field = page.locator('[data-setting="recognition.sighting_cooldown_s"]');
    await field.waitFor();
    const before = await field.inputValue();
    await field.fill(String(Number(before) + 7));
    await page.locator('nav a[data-nav="/"]').click();
    await confirm.waitFor({ timeout: 5_000 }).catch(() => { throw new Error("a link away from changed settings did not ask"); });
    await confirm.locator('[data-testid="confirm-cancel"]').click();
    await confirm.waitFor({ state: "detached" });
    check(new URL(page.url()).pathname === "/settings" && (await field.inputValue()) === String(Number(before) + 7), "after \"Stay\" the settings page or its change is gone");
    await page.locator('[data-testid="settings-discard"]').click();
    await page.locator('nav a[data-nav="/"]').click();
    await page.waitForURL((url) => url.pathname === "/");
    check((await confirm.count()) === 0, "leaving discarded settings asked");
  });

  // On a phone: the last axis label ran past the chart and was cut; a
  // camera's error went into the narrow label column; scrolled into view, the
  // player's title lay under the sticky top bar.
  await step("phone 375x667: timeline labels, a camera's error text and the player's title fit", { needs: [...needsLogin, ...needsRecordings] }, async () => {
    const camera = await api("/api/v1/cameras", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: "Gate", kind: "http", source: "http://127.0.0.1:9/video.mjpg", location: "Drive" }),
    });
    try {
      await api(`/api/v1/cameras/${camera.id}/stream/start`, { method: "POST" });
      const failing = await until("the camera Gate to be in error", 20_000, async () => {
        const c = await api(`/api/v1/cameras/${camera.id}`);
        return c.status === "error" && c.status_message ? c : null;
      }, 250);
      log(`Gate's error: ${failing.status_message}`);
      await onPhone("phone-layout", async (small) => {
        const noSideScroll = async (where) => {
          const overflow = await small.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
          check(overflow <= 1, `${where} is ${overflow}px wider than the phone's screen`);
        };

        await goto(small, "/timeline");
        await small.locator('[data-testid="timeline-chart"] .timeline-tick').first().waitFor();
        const ticks = await small.evaluate(() => {
          const axis = document.querySelector(".timeline-axis").getBoundingClientRect();
          const range = document.createRange();
          const labels = [...document.querySelectorAll(".timeline-axis .timeline-tick")].filter((tick) => tick.textContent).map((tick) => {
            range.selectNodeContents(tick);
            const box = range.getBoundingClientRect();
            return { text: tick.textContent, left: box.left, right: box.right };
          });
          return { left: axis.left, right: Math.min(axis.right, window.innerWidth), labels };
        });
        check(ticks.labels.length >= 2, `the timeline's axis has ${ticks.labels.length} labels`);
        const cut = ticks.labels.filter((l) => l.right > ticks.right + 0.5 || l.left < ticks.left - 0.5);
        check(cut.length === 0, `axis labels past the chart's edges (${ticks.left.toFixed(0)}-${ticks.right.toFixed(0)} px): ${cut.map((l) => `${l.text} at ${l.left.toFixed(0)}-${l.right.toFixed(0)}`).join(", ")}`);
        await noSideScroll("the timeline");
        await small.locator('[data-testid="timeline-chart"]').scrollIntoViewIfNeeded();
        await shot(small, "19-timeline-phone.png");

        await goto(small, "/cameras");
        const row = small.locator(`[data-testid="camera-row"][data-camera-id="${camera.id}"]`);
        const message = row.locator('[data-testid="camera-status-message"]');
        await message.waitFor();
        const boxes = await row.locator('[data-testid="camera-status"]').evaluate((cell) => {
          const box = (e) => e.getBoundingClientRect();
          return { cell: box(cell), badge: box(cell.querySelector(".camera-badge")), message: box(cell.querySelector('[data-testid="camera-status-message"]')) };
        });
        check(Math.abs(boxes.message.left - boxes.badge.left) <= 1, `the error text starts at ${boxes.message.left.toFixed(0)} px, not under the status at ${boxes.badge.left.toFixed(0)} px (it went into the label's column)`);
        check(boxes.message.width >= 0.5 * boxes.cell.width, `the error text is ${boxes.message.width.toFixed(0)} px wide in a ${boxes.cell.width.toFixed(0)} px row (squeezed)`);
        await noSideScroll("the cameras page");
        await message.scrollIntoViewIfNeeded();
        await shot(small, "20-cameras-error-phone.png");
        await a11y(small, "cameras-error-phone");

        await goto(small, "/recordings");
        const rows = small.locator('[data-testid="recording-row"]');
        await rows.first().waitFor();
        // From the list below, the player (above it) is scrolled into view.
        await small.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
        await rows.first().locator("a").click();
        const title = small.locator("#player-title");
        await title.waitFor();
        let last = -1;
        await until("the scroll to the player to end", 5_000, async () => {
          const y = await small.evaluate(() => window.scrollY);
          const still = y === last;
          last = y;
          return still;
        }, 200);
        const placed = await small.evaluate(() => ({
          bar: document.querySelector(".topbar").getBoundingClientRect().bottom,
          title: document.querySelector("#player-title").getBoundingClientRect().top,
          scrolled: window.scrollY,
        }));
        check(placed.title >= placed.bar, `the player's title starts at ${placed.title.toFixed(0)} px, under the top bar that ends at ${placed.bar.toFixed(0)} px (scrolled ${placed.scrolled} px)`);
        log(`the player's title at ${placed.title.toFixed(1)} px, the top bar ends at ${placed.bar.toFixed(1)} px`);
        check(placed.title < phone.height - 40, `the player's title is at ${placed.title.toFixed(0)} px, off the screen`);
        await noSideScroll("the recordings page");
        await shot(small, "21-recording-player-phone.png");
        await a11y(small, "recording-player-phone");
      });
    } finally {
      await api(`/api/v1/cameras/${camera.id}/stream/stop`, { method: "POST" }).catch(() => {});
      await api(`/api/v1/cameras/${camera.id}`, { method: "DELETE" }).catch(() => {});
    }
  });

  // The router took every same-origin link, "#main" included, and did nothing with it.
  await step("keyboard: \"Skip to content\" moves on into the page, past the menu", { needs: needsLogin }, async () => {
    t.setActivePage(page);
    await goto(page, "/profiles");
    await page.keyboard.press("Tab");
    const skip = await page.evaluate(() => document.activeElement?.textContent);
    check(skip === "Skip to content", `the first Tab reaches ${JSON.stringify(skip)}, not "Skip to content"`);
    await page.keyboard.press("Enter");
    await page.keyboard.press("Tab");
    const inside = await page.evaluate(() => !!document.activeElement?.closest("#main"));
    check(inside, `after the skip link, Tab reaches ${await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 100))}, not the page's content`);
    check(new URL(page.url()).pathname === "/profiles", `the skip link left the page for ${page.url()}`);
  });

  // Words and times as the user reads them, over the main pages and dialogs.
  await step("plain words (no descriptor, no distance) and one time format on every page", { needs: needsLogin }, async () => {
    t.setActivePage(page);
    const schema = await api("/api/v1/settings/schema");
    const serverTexts = schema.settings.flatMap((s) => [s.label, s.help]).filter(Boolean);
    const serverJargon = serverTexts.filter((text) => JARGON.test(text));
    if (serverJargon.length) log(`the server's settings schema still says (src/domain/settings_schema.cpp): ${serverJargon.map((s) => JSON.stringify(s)).join("; ")}`);
    const problems = [];
    const times = new Set();
    async function read(where) {
      const seen = await page.evaluate(() => {
        const visible = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
        const attrs = [...document.querySelectorAll("[title], [aria-label], [placeholder]")]
          .filter(visible)
          .flatMap((e) => ["title", "aria-label", "placeholder"].map((a) => e.getAttribute(a)).filter(Boolean));
        const timeElements = [...document.querySelectorAll("time")].filter(visible).map((e) => ({ text: e.textContent.trim(), title: e.getAttribute("title") }));
        return { text: document.body.innerText, attrs, times: timeElements };
      });
      // The settings' labels and help are the server's (listed above, not the UI's words).
      let text = seen.text;
      for (const server of serverTexts) text = text.split(server).join("");
      const jargon = [...text.split("\n"), ...seen.attrs].filter((line) => JARGON.test(line));
      if (jargon.length) problems.push(`${where}: ${jargon.slice(0, 4).map((s) => JSON.stringify(s.trim())).join(", ")}`);
      for (const line of seen.text.split("\n")) {
        if (OTHER_FORMATS.some((re) => re.test(line))) problems.push(`${where}: a time in another format: ${JSON.stringify(line.trim())}`);
      }
      for (const time of seen.times) {
        times.add(time.text);
        if (![ABSOLUTE, RELATIVE, CLOCK].some((re) => re.test(time.text))) problems.push(`${where}: <time> says ${JSON.stringify(time.text)}`);
        if (time.title && !ABSOLUTE.test(time.title)) problems.push(`${where}: <time> titled ${JSON.stringify(time.title)}`);
      }
    }

    const recordings = await api("/api/v1/recordings?per_page=1");
    const paths = ["/", "/live", "/profiles", "/review", "/search", "/timeline", "/heatmap", "/recordings", "/cameras", "/alerts", "/settings", "/users", "/audit"];
    if (state.linId) paths.splice(3, 0, `/profiles/${state.linId}`);
    if (recordings.items[0]) paths.splice(paths.indexOf("/recordings") + 1, 0, `/recordings/${recordings.items[0].id}`);
    for (const path of paths) {
      await goto(page, path);
      if (path.startsWith("/recordings/")) await page.locator('[data-testid="recording-sightings"], #player-title').first().waitFor();
      if (path.startsWith("/profiles/")) await page.locator('[data-testid="sighting-list"]').waitFor().catch(() => {});
      await read(path);
    }
    // The dialogs that spoke of descriptors and distances.
    await goto(page, "/timeline");
    const entry = page.locator('[data-testid="timeline-entry"]').first();
    if (await entry.count()) {
      await entry.click();
      await page.locator('[data-testid="sighting-dialog"]').waitFor();
      await read("the timeline's sighting dialog");
      await page.keyboard.press("Escape");
    }
    if (state.linId) {
      await goto(page, `/profiles/${state.linId}`);
      await page.locator('[data-testid="profile-delete"]').click();
      await page.locator('[data-testid="confirm-dialog"]').waitFor();
      await read("the profile's delete question");
      await page.locator('[data-testid="confirm-cancel"]').click();
    }
    await goto(page, "/profiles");
    const cards = page.locator('[data-testid="profile-card"]');
    if ((await cards.count()) >= 2) {
      await page.locator('[data-testid="select-toggle"]').click();
      await page.locator('[data-testid="profile-select"]').nth(0).check();
      await page.locator('[data-testid="profile-select"]').nth(1).check();
      await page.locator('[data-testid="bulk-merge"]').click();
      await page.locator('[data-testid="merge-dialog"]').waitFor();
      await read("the merge dialog");
      await page.keyboard.press("Escape");
      await page.locator('[data-testid="merge-dialog"]').waitFor({ state: "detached" });
    }
    check(problems.length === 0, `jargon or other time formats:\n  ${problems.join("\n  ")}`);
    check([...times].some((text) => ABSOLUTE.test(text)), `no page showed an absolute time: ${[...times].slice(0, 10).join(" | ")}`);
    log(`${times.size} distinct times shown, e.g. ${[...times].slice(0, 4).join(" | ")}`);
  });
}
