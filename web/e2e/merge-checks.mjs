// End-to-end checks of merging (issue 15, "Strangers and search"): enrolling
// a duplicate says whom it looks like, the profile page offers the likely
// same under "Similar profiles", and the merge dialog shows the server's dry
// run (the resulting classification, the conflicts) before the user
// confirms; a Flagged duplicate merged into a Known profile stays Flagged.
// Run by run.mjs last, on Rose Leslie's profile (enrolled by its first steps),
// which it merges a flagged duplicate into.

export async function mergeChecks(t) {
  const { step, check, until, goto, settled, api, log, state, page, rosePhoto } = t;
  const needsRose = ["enrol rose_leslie on the Profiles page"];

  await step("enrol a duplicate: the enrolment says whom the new profile looks like", { needs: needsRose }, async () => {
    t.setActivePage(page);
    await goto(page, "/profiles");
    await page.locator('[data-testid="enrol-open"]').click();
    await page.locator("#enrol-name").fill("Rose again");
    await page.locator("#enrol-classification").selectOption("flagged");
    await page.locator("#enrol-photos").setInputFiles([rosePhoto]);
    await page.locator('[data-testid="enrol-submit"]').click();
    const toast = page.locator("#toasts", { hasText: "Looks like" });
    await toast.waitFor({ timeout: 30_000 });
    log(`toast: ${(await toast.innerText()).replace(/\s+/g, " ").slice(0, 160)}`);
    const listed = await api("/api/v1/profiles?q=" + encodeURIComponent("Rose again"));
    check(listed.total === 1, `expected one profile named Rose again, the API lists ${listed.total}`);
    state.duplicateId = listed.items[0].id;
  });

  await step("Similar profiles offers the merge; the dialog shows the result before confirming; Flagged survives", { needs: ["enrol a duplicate: the enrolment says whom the new profile looks like"] }, async () => {
    t.setActivePage(page);
    await goto(page, `/profiles/${state.duplicateId}`);
    const item = page.locator(`[data-testid="similar-item"][data-likely-same="true"]:has(a[href="/profiles/${state.roseId}"])`);
    await item.waitFor({ timeout: 15_000 });
    await item.locator('[data-testid="similar-merge"]').click();
    const dialog = page.locator('[data-testid="merge-dialog"]');
    await dialog.waitFor();
    // Keep Rose Leslie (Known): the preview must say the result is Flagged.
    await dialog.locator(`input[value="${state.roseId}"]`).check();
    const result = dialog.locator('[data-testid="merge-result-classification"]');
    await until("the preview of keeping Rose Leslie", 10_000, async () =>
      (await result.count()) > 0 && (await result.getAttribute("data-classification")) === "flagged" &&
      !(await dialog.locator('[data-testid="merge-submit"]').isDisabled()));
    const conflict = dialog.locator('[data-testid="merge-conflicts"] li[data-field="classification"]');
    check((await conflict.count()) === 1, "the preview does not show the classification conflict");
    log(`conflict shown: ${await conflict.innerText()}`);
    check((await api(`/api/v1/profiles/${state.roseId}`)).classification === "known", "the dry run changed Rose Leslie's profile");
    await dialog.locator('[data-testid="merge-submit"]').click();
    await dialog.waitFor({ state: "hidden", timeout: 15_000 });
    const merged = await until("the merged profile", 10_000, async () => {
      const p = await api(`/api/v1/profiles/${state.roseId}`);
      return p.classification === "flagged" ? p : null;
    });
    check(merged.name === "Rose Leslie", `the merged profile is called ${merged.name}, not the kept one's name`);
    const gone = await fetch(t.base + `/api/v1/profiles/${state.duplicateId}`, { headers: { Authorization: "Bearer " + t.token } });
    check(gone.status === 404, `the merged-away profile answers ${gone.status}, not 404`);
    await settled(page);
  });
}
