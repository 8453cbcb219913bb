// "Are you sure?" as a modal dialog: resolves true when the user confirms,
// false on Cancel or Esc.
import { h } from "../dom.js";
import { openModal } from "./modal-dialog.js";

export interface ConfirmOptions {
  title: string;
  message: string;
  confirmLabel?: string;
  cancelLabel?: string;
  danger?: boolean;
  container?: Element;
}

let counter = 0;

export function confirmDialog(options: ConfirmOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const id = `confirm-${++counter}`;
    let answer = false;
    const cancel = h("button", { type: "button", class: "button", "data-testid": "confirm-cancel" }, options.cancelLabel ?? "Cancel");
    const confirm = h(
      "button",
      { type: "button", class: options.danger ? "button button-danger" : "button button-primary", "data-testid": "confirm-ok" },
      options.confirmLabel ?? "OK",
    );
    const dialog = h(
      "dialog",
      { "aria-labelledby": `${id}-title`, "aria-describedby": `${id}-text`, "data-testid": "confirm-dialog" },
      h("h2", { id: `${id}-title` }, options.title),
      h("p", { id: `${id}-text` }, options.message),
      h("div", { class: "dialog-actions" }, cancel, confirm),
    );
    const modal = openModal(dialog, options.container, () => resolve(answer));
    cancel.addEventListener("click", () => modal.close());
    confirm.addEventListener("click", () => {
      answer = true;
      modal.close();
    });
    // Destructive actions start on Cancel, so Enter never deletes by accident.
    (options.danger ? cancel : confirm).focus();
  });
}

// The question of a page's leave guard (router.ts): `what` is what would be
// lost, "Your changes to Rose Leslie".
export function confirmLeave(what: string, container: Element): Promise<boolean> {
  return confirmDialog({
    title: "Leave without saving?",
    message: `${what} are not saved yet. Leaving this page discards them.`,
    confirmLabel: "Discard changes and leave",
    cancelLabel: "Stay on this page",
    danger: true,
    container,
  });
}
