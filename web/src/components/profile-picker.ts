// Choosing one person by typing part of the name: a combobox (ARIA 1.2
// pattern: the input keeps the focus, arrows move through the suggestions,
// Enter picks, Esc closes) over GET /api/v1/profiles?q=.
import { api, errorText, type Page, type Profile } from "../api.js";
import { h, profileName, replace } from "../dom.js";
import { classificationPill } from "./classification.js";
import { faceThumb } from "./face-thumb.js";
import type { ProfileSummary } from "./profile-lookup.js";

export interface ProfilePicker {
  element: HTMLElement;
  set(profile: ProfileSummary | null): void;
  dispose(): void;
}

let counter = 0;

export interface ProfilePickerOptions {
  id: string;
  label: string;
  onChange: (profile: ProfileSummary | null) => void;
  placeholder?: string;  // "Anyone" (a filter) unless said
  exclude?: (profile: Profile) => boolean; // not offered (the person a face is being moved from)
}

export function profilePicker(options: ProfilePickerOptions): ProfilePicker {
  const listId = `${options.id}-list-${++counter}`;
  const input = h("input", {
    id: options.id,
    type: "text",
    role: "combobox",
    autocomplete: "off",
    placeholder: options.placeholder ?? "Anyone",
    "aria-autocomplete": "list",
    "aria-expanded": "false",
    "aria-controls": listId,
    spellcheck: "false",
  });
  const list = h("ul", { id: listId, role: "listbox", class: "picker-list", "aria-label": "Matching people", hidden: true });
  const status = h("span", { class: "visually-hidden", role: "status" });
  const clear = h("button", { type: "button", class: "picker-clear", "aria-label": `Clear ${options.label.toLowerCase()}`, title: "Clear", hidden: true }, "×");
  let chosen: ProfileSummary | null = null;
  let results: Profile[] = [];
  let activeIndex = -1;
  let timer: number | undefined;
  let request = 0;

  const open = (on: boolean) => {
    list.hidden = !on;
    input.setAttribute("aria-expanded", String(on));
    if (!on) {
      activeIndex = -1;
      input.removeAttribute("aria-activedescendant");
    }
  };

  const highlight = (index: number) => {
    activeIndex = index;
    list.querySelectorAll<HTMLElement>("[role=option]").forEach((option, i) => {
      option.setAttribute("aria-selected", String(i === index));
      if (i === index) {
        input.setAttribute("aria-activedescendant", option.id);
        option.scrollIntoView({ block: "nearest" });
      }
    });
  };

  const pick = (profile: ProfileSummary | null) => {
    chosen = profile;
    input.value = profile ? profileName(profile) : "";
    clear.hidden = !profile;
    open(false);
    options.onChange(profile);
  };

  async function search(): Promise<void> {
    const number = ++request;
    const text = input.value.trim();
    try {
      const page = await api.get<Page<Profile>>("/api/v1/profiles", { q: text, per_page: 8, sort: text ? "name" : "-last_seen" });
      // A stale answer (the text changed since) waits for the next one.
      if (number !== request || document.activeElement !== input || input.value.trim() !== text) return;
      results = page.items.filter((p) => !options.exclude?.(p));
      replace(
        list,
        results.length === 0
          ? h("li", { class: "picker-empty", role: "option", "aria-disabled": "true", id: `${listId}-none` }, "No one matches")
          : results.map((p, i) =>
              h(
                "li",
                { id: `${listId}-${i}`, role: "option", class: "picker-option", "aria-selected": "false", "data-testid": "picker-option" },
                faceThumb(p.thumbnail_url, p.name ?? "?", "small"),
                h("span", { class: "picker-name" }, profileName(p)),
                classificationPill(p.classification),
              ),
            ),
      );
      status.textContent = results.length ? `${results.length} suggestions` : "No one matches";
      open(true);
      if (results.length) highlight(0);
    } catch (error) {
      if (number !== request) return;
      replace(list, h("li", { class: "picker-empty", role: "option", "aria-disabled": "true", id: `${listId}-error` }, `Search failed: ${errorText(error)}`));
      open(true);
    }
  }

  input.addEventListener("input", () => {
    if (chosen && input.value !== profileName(chosen)) {
      // Editing the text drops the choice; an empty field means anyone.
      chosen = null;
      clear.hidden = true;
      if (!input.value.trim()) options.onChange(null);
    }
    window.clearTimeout(timer);
    timer = window.setTimeout(() => void search(), 250);
  });
  input.addEventListener("focus", () => {
    if (!chosen) void search();
  });
  input.addEventListener("keydown", (event) => {
    const count = results.length;
    if (event.key === "ArrowDown") {
      event.preventDefault();
      if (list.hidden) void search();
      else if (count) highlight((activeIndex + 1) % count);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      if (!list.hidden && count) highlight((activeIndex - 1 + count) % count);
    } else if (event.key === "Enter") {
      if (!list.hidden && activeIndex >= 0 && results[activeIndex]) {
        event.preventDefault();
        pick(results[activeIndex]!);
      }
    } else if (event.key === "Escape") {
      if (!list.hidden) {
        // Closes the list only, not a dialog around it.
        event.preventDefault();
        event.stopPropagation();
        open(false);
      }
    }
  });
  input.addEventListener("blur", () => {
    window.setTimeout(() => {
      if (document.activeElement !== input) {
        open(false);
        // Text that picked nobody goes back to the current choice.
        if (chosen) input.value = profileName(chosen);
        else if (input.value.trim()) input.value = "";
      }
    }, 150);
  });
  // Mouse: pick on mousedown's click without losing the input's focus first.
  list.addEventListener("mousedown", (event) => event.preventDefault());
  list.addEventListener("click", (event) => {
    const option = (event.target as Element).closest<HTMLElement>(".picker-option");
    if (!option) return;
    const index = [...list.children].indexOf(option);
    if (results[index]) pick(results[index]!);
  });
  clear.addEventListener("click", () => {
    pick(null);
    input.focus();
  });

  const element = h(
    "div",
    { class: "filter picker" },
    h("label", { for: options.id }, options.label),
    h("div", { class: "picker-field" }, input, clear, list),
    status,
  );
  return {
    element,
    set(profile) {
      chosen = profile;
      input.value = profile ? profileName(profile) : "";
      clear.hidden = !profile;
    },
    dispose() {
      window.clearTimeout(timer);
      request++;
    },
  };
}
