// End-to-end checks of reviewing and correcting (issue 15, "Strangers and
// search"): the review queue of unknown strangers (New person, Ignore and its
// Undo, This is… through the merge preview), a profile's faces (photos,
// quality in words, removal with the last-face warning), correcting a
// sighting from its dialog (Correct: this is…, Not <name>, Undo) and the
// search by photo. Run by run.mjs after merge-checks.mjs, on the data the
// earlier steps made (Rose Leslie, Lin-Manuel Miranda and his sightings from
// the Stage camera); the strangers to review are enrolled here as unknown.
//
// Not here: the answers that are HTTP errors (409 for a sighting from before
// faces were kept, 400 for a photo without a face): Chromium logs every
// failed request as a console error, which fails a step; the API tests
// (tests/api) check those answers.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

const phone = { width: 375, height: 812 };
const QUALITY = /^Quality: (good|fair|poor)$/;

export async function reviewChecks(t) {
  const { step, check, until, goto, api, a11y, shot, log, state, page, testdata } = t;
  const needsLogin = ["log in through the form"];
  const face = (who, file) => join(testdata, "faces", who, file);

  // A profile enrolled from one photo, as the cameras would leave a stranger: unknown, not reviewed.
  async function enrol(photo, fields) {
    const body = new FormData();
    for (const [key, value] of Object.entries(fields)) body.append(key, value);
    body.append("photo", new Blob([readFileSync(photo)], { type: photo.endsWith(".png") ? "image/png" : "image/jpeg" }), basename(photo));
    const profile = await api("/api/v1/profiles", { method: "POST", body });
    if (fields.classification === "unknown")
      return api(`/api/v1/profiles/${profile.id}`, { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ reviewed: false }) });
    return profile;
  }
  const card = (id) => page.locator(`[data-testid="review-card"][data-profile-id="${id}"]`);

  await step("review: the queue lists the unknown strangers not reviewed, most recently seen first, with their photos", { needs: needsLogin }, async () => {
    t.setActivePage(page);
    const kit = await enrol(face("kit_harington", "kit1.jpg"), { classification: "unknown" });
    const obama = await enrol(face("obama", "obama.jpg"), { classification: "unknown" });
    const biden = await enrol(face("biden", "biden2.jpg"), { classification: "unknown" });
    const joe = await enrol(face("biden", "biden.jpg"), { classification: "known", name: "Joe Biden" });
    Object.assign(state, { kitId: kit.id, obamaId: obama.id, strangerBidenId: biden.id, joeId: joe.id });
    check(kit.reviewed === false && kit.classification === "unknown", `the stranger is stored as ${JSON.stringify({ reviewed: kit.reviewed, classification: kit.classification })}`);

    await goto(page, "/review");
    for (const id of [kit.id, obama.id, biden.id]) await card(id).waitFor();
    check((await card(joe.id).count()) === 0, "the queue lists a known person");
    const queue = await api("/api/v1/profiles?classification=unknown&reviewed=false&sort=-last_seen&per_page=12");
    const shown = await page.locator('[data-testid="review-card"]').evaluateAll((cards) => cards.map((c) => c.dataset.profileId));
    check(JSON.stringify(shown) === JSON.stringify(queue.items.map((p) => p.id)), `the cards are ${JSON.stringify(shown)}, the API's queue (most recently seen first) ${JSON.stringify(queue.items.map((p) => p.id))}`);
    // The stranger's face photo, loaded (not the initial's placeholder).
    const photo = card(kit.id).locator(".review-photos img").first();
    await photo.waitFor();
    await until("the stranger's photo to load", 10_000, () => photo.evaluate((img) => img.complete && img.naturalWidth > 0));
    // The menu's count is the queue's.
    const badge = page.locator('[data-testid="review-badge"]');
    await until(`the menu's review count to be ${queue.total}`, 10_000, async () => (await badge.isVisible()) && (await badge.innerText()).trim().endsWith(String(queue.total)));
    await shot(page, "22-review.png");
    await a11y(page, "review");
    await a11y(page, "review-dark", { colorScheme: "dark" });
  });

  const needsQueue = ["review: the queue lists the unknown strangers not reviewed, most recently seen first, with their photos"];
  await step("review: New person names a stranger; Ignore keeps one a stranger, and Undo puts it back in the queue", { needs: needsQueue }, async () => {
    t.setActivePage(page);
    await goto(page, "/review");
    await card(state.kitId).locator('[data-testid="review-new"]').click();
    const name = card(state.kitId).locator("input[name=name]");
    await name.waitFor();
    check(await name.evaluate((e) => e === document.activeElement), "the name field does not have the focus after New person");
    await name.fill("Kit Harington");
    await card(state.kitId).locator('[data-testid="review-name-save"]').click();
    await card(state.kitId).waitFor({ state: "detached" });
    const kit = await api(`/api/v1/profiles/${state.kitId}`);
    check(kit.name === "Kit Harington" && kit.classification === "known" && kit.reviewed === true, `the named stranger is ${JSON.stringify({ name: kit.name, classification: kit.classification, reviewed: kit.reviewed })}`);
    await page.locator('[data-testid="toast-success"]', { hasText: "Saved Kit Harington" }).waitFor();
    check(await page.evaluate(() => !!document.activeElement?.closest('[data-testid="review-card"], h1')), "after naming, the focus is not on the next card");

    await card(state.obamaId).locator('[data-testid="review-ignore"]').click();
    await card(state.obamaId).waitFor({ state: "detached" });
    const ignored = await api(`/api/v1/profiles/${state.obamaId}`);
    check(ignored.reviewed === true && ignored.classification === "unknown" && ignored.name === null, `the ignored stranger is ${JSON.stringify({ name: ignored.name, classification: ignored.classification, reviewed: ignored.reviewed })}`);
    await page.locator('[data-testid="toast-success"]', { hasText: "Ignored" }).locator('[data-testid="toast-action"]').click();
    await card(state.obamaId).waitFor({ timeout: 10_000 });
    check((await api(`/api/v1/profiles/${state.obamaId}`)).reviewed === false, "after Undo the stranger is still reviewed");
  });

  await step("review: This is… merges a stranger into the person picked, after the merge preview", { needs: needsQueue }, async () => {
    t.setActivePage(page);
    await goto(page, "/review");
    await card(state.strangerBidenId).locator('[data-testid="review-this-is"]').click();
    const who = page.locator('[data-testid="review-who-dialog"]');
    await who.waitFor();
    await a11y(page, "review-who-dialog");
    await who.locator("#review-who").fill("Joe");
    await who.locator('[data-testid="picker-option"]', { hasText: "Joe Biden" }).click();
    await who.locator('[data-testid="review-who-submit"]').click();
    const merge = page.locator('[data-testid="merge-dialog"]');
    await merge.waitFor();
    check(await merge.locator(`input[value="${state.joeId}"]`).isChecked(), "the merge does not keep Joe Biden, the named person");
    await until("the merge preview", 10_000, async () => !(await merge.locator('[data-testid="merge-submit"]').isDisabled()));
    await merge.locator('[data-testid="merge-submit"]').click();
    await card(state.strangerBidenId).waitFor({ state: "detached", timeout: 15_000 });
    const gone = await fetch(t.base + `/api/v1/profiles/${state.strangerBidenId}`, { headers: { Authorization: "Bearer " + t.token } });
    check(gone.status === 404, `the merged stranger answers ${gone.status}, not 404`);
    const joe = await api(`/api/v1/profiles/${state.joeId}`);
    check(joe.embedding_count === 2 && joe.name === "Joe Biden", `after the merge Joe Biden is ${JSON.stringify({ name: joe.name, faces: joe.embedding_count })}`);
  });

  const needsKit = ["review: New person names a stranger; Ignore keeps one a stranger, and Undo puts it back in the queue"];
  await step("profile: the faces show their photos and quality in words; removing the last one warns", { needs: needsKit }, async () => {
    t.setActivePage(page);
    const body = new FormData();
    body.append("photo", new Blob([readFileSync(face("kit_harington", "kit2.jpg"))], { type: "image/jpeg" }), "kit2.jpg");
    await api(`/api/v1/profiles/${state.kitId}/photos`, { method: "POST", body });
    const stored = await api(`/api/v1/profiles/${state.kitId}/faces`);
    check(stored.total === 2, `Kit Harington has ${stored.total} faces, expected 2`);
    await goto(page, `/profiles/${state.kitId}`);
    const items = page.locator('[data-testid="face-item"]');
    await until("two faces", 10_000, async () => (await items.count()) === 2);
    const qualities = await page.locator('[data-testid="face-quality"]').allInnerTexts();
    check(qualities.every((q) => QUALITY.test(q.trim())), `the qualities read ${JSON.stringify(qualities)}`);
    const photos = page.locator('[data-testid="face-photo"]');
    check((await photos.count()) === stored.items.filter((f) => f.has_photo).length, "the faces with a photo and the photos shown differ");
    for (const img of await photos.all()) await until("a face photo to load", 10_000, () => img.evaluate((e) => e.complete && e.naturalWidth > 0));
    await page.locator('[data-testid="face-gallery"]').scrollIntoViewIfNeeded();
    await shot(page, "23-profile-faces.png");
    await a11y(page, "profile-faces");

    const confirm = page.locator('[data-testid="confirm-dialog"]');
    await items.first().locator('[data-testid="face-remove"]').click();
    await confirm.waitFor();
    check((await confirm.innerText()).includes("1 face remains"), `the question says ${JSON.stringify(await confirm.innerText())}`);
    await confirm.locator('[data-testid="confirm-ok"]').click();
    await until("one face left", 10_000, async () => (await items.count()) === 1);
    check((await api(`/api/v1/profiles/${state.kitId}/faces`)).total === 1, "the API still has two faces");

    await items.first().locator('[data-testid="face-remove"]').click();
    await confirm.waitFor();
    check((await confirm.innerText()).includes("last face"), `removing the last face does not warn: ${JSON.stringify(await confirm.innerText())}`);
    await confirm.locator('[data-testid="confirm-ok"]').click();
    await page.locator('[data-testid="faces-empty"]').waitFor({ timeout: 10_000 });
    const warning = page.locator("#toasts", { hasText: "Face removed." });
    await warning.waitFor();
    log(`after the last face: ${(await warning.innerText()).replace(/\s+/g, " ").slice(0, 200)}`);
    check((await api(`/api/v1/profiles/${state.kitId}/faces`)).total === 0, "the API still has a face");
    await until("the facts to count no face", 10_000, async () => (await page.locator('[data-testid="fact-embeddings"]').innerText()).trim() === "0");
  });

  const needsLin = ["open the stranger's profile, rename and flag it", "enrol rose_leslie on the Profiles page"];
  await step("sighting: Correct: this is… and Not <name> move it, Undo puts it back", { needs: needsLin }, async () => {
    t.setActivePage(page);
    const listed = await api(`/api/v1/profiles/${state.linId}/sightings?per_page=1`);
    check(listed.items.length === 1, "Lin-Manuel Miranda has no sighting");
    const sighting = listed.items[0];
    const at = async () => (await api(`/api/v1/sightings/${sighting.id}`)).profile_id;
    await goto(page, `/profiles/${state.linId}`);
    await page.locator(`[data-testid="sighting-item"][data-sighting-id="${sighting.id}"] [data-testid="sighting-open"]`).click();
    const dialog = page.locator('[data-testid="sighting-dialog"]');
    await dialog.waitFor();
    const done = dialog.locator('[data-testid="feedback-done"]');

    await dialog.locator('[data-testid="feedback-correct"]').click();
    const who = dialog.locator('[data-testid="sighting-feedback"] input[role="combobox"]');
    check(await who.evaluate((e) => e === document.activeElement), "the person field does not have the focus after Correct");
    await who.fill("Rose");
    await dialog.locator('[data-testid="picker-option"]', { hasText: "Rose Leslie" }).click();
    await dialog.locator('[data-testid="feedback-move"]').click();
    await done.filter({ hasText: "Moved to Rose Leslie" }).waitFor({ timeout: 10_000 });
    check((await at()) === state.roseId, "the sighting was not moved to Rose Leslie");
    check((await dialog.locator("h2").innerText()).includes("Rose Leslie"), "the dialog's title does not name Rose Leslie");
    await a11y(page, "sighting-feedback");
    await a11y(page, "sighting-feedback-dark", { colorScheme: "dark" });
    await dialog.locator('[data-testid="feedback-undo"]').click();
    await done.filter({ hasText: "Undone" }).waitFor({ timeout: 10_000 });
    check((await at()) === state.linId, "after Undo the sighting is not Lin-Manuel Miranda's");

    await dialog.locator('[data-testid="feedback-not"]', { hasText: "Not Lin-Manuel Miranda" }).click();
    await done.filter({ hasText: "Moved to" }).waitFor({ timeout: 10_000 });
    const stranger = await at();
    check(stranger !== state.linId, "Not Lin-Manuel Miranda left the sighting with him");
    const other = await api(`/api/v1/profiles/${stranger}`);
    log(`"Not Lin-Manuel Miranda" moved the sighting to ${other.name ?? "an unnamed"} ${other.classification} profile`);
    await dialog.locator('[data-testid="feedback-undo"]').click();
    await done.filter({ hasText: "Undone" }).waitFor({ timeout: 10_000 });
    check((await at()) === state.linId, "after the second Undo the sighting is not Lin-Manuel Miranda's");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
  });

  await step("search by photo: a frame of Lin-Manuel Miranda finds his sightings, newest first, each opens", { needs: needsLin }, async () => {
    t.setActivePage(page);
    const listed = await api(`/api/v1/profiles/${state.linId}/sightings?per_page=1`);
    const frameUrl = listed.items[0]?.frame_url;
    check(frameUrl, "Lin-Manuel Miranda's sighting kept no frame");
    const response = await fetch(t.base + frameUrl, { headers: { Authorization: "Bearer " + t.token } });
    check(response.ok, `the frame answers ${response.status}`);
    const photo = join(tmpdir(), `safelynx-e2e-frame-${process.pid}.jpg`);
    writeFileSync(photo, Buffer.from(await response.arrayBuffer()));
    try {
      await goto(page, "/search");
      await page.locator("#search-photo").setInputFiles(photo);
      await page.locator('[data-testid="search-submit"]').click();
      const counts = page.locator('[data-testid="search-counts"]');
      await counts.waitFor({ timeout: 30_000 });
      const text = (await counts.innerText()).trim();
      const body = new FormData();
      body.append("photo", new Blob([readFileSync(photo)], { type: "image/jpeg" }), "frame.jpg");
      const answer = await api("/api/v1/search/face?per_page=20", { method: "POST", body });
      check(text === `Searched ${answer.searched} sighting${answer.searched === 1 ? "" : "s"}: ${answer.total} of this face.`, `the page says ${JSON.stringify(text)}, the API searched ${answer.searched} and found ${answer.total}`);
      check(answer.total > 0, "the frame's own face found no sighting");
      const items = page.locator('[data-testid="search-item"]');
      check((await items.count()) === answer.items.length, `the page lists ${await items.count()} sightings, the API ${answer.items.length}`);
      check((await items.filter({ hasText: "Lin-Manuel Miranda" }).count()) > 0, "no result is Lin-Manuel Miranda's");
      const times = await items.locator("time").evaluateAll((list) => list.map((e) => Date.parse(e.getAttribute("datetime"))));
      check(times.every((time, i) => i === 0 || times[i - 1] >= time), "the sightings are not newest first");
      await shot(page, "24-search.png");
      await a11y(page, "search");
      await a11y(page, "search-dark", { colorScheme: "dark" });
      await items.first().locator('[data-testid="search-open"]').click();
      const dialog = page.locator('[data-testid="sighting-dialog"]');
      await dialog.waitFor();
      check((await dialog.locator("h2").innerText()).length > 0, "the sighting dialog has no title");
      await page.keyboard.press("Escape");
      await dialog.waitFor({ state: "detached" });
    } finally {
      rmSync(photo, { force: true });
    }
  });

  for (const path of ["/review", "/search"]) {
    await step(`page ${path} at 375x812 (phone)`, { needs: needsLogin }, async () => {
      const context = await t.newContext(phone, { isMobile: true, hasTouch: true });
      try {
        await context.addInitScript((token) => localStorage.setItem("safelynx.token", token), t.token);
        const small = t.watchPage(await context.newPage(), "phone-review");
        t.setActivePage(small);
        await goto(small, path);
        await shot(small, `25-${path.slice(1)}-phone.png`);
        await a11y(small, `${path.slice(1)}-phone`);
        const overflow = await small.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        check(overflow <= 1, `the page is ${overflow}px wider than the phone's screen (horizontal scrolling)`);
      } finally {
        t.setActivePage(page);
        await context.close();
      }
    });
  }
}
