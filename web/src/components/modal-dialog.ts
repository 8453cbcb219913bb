// A <dialog> opened as a modal: Esc closes it (the browser's cancel), the
// element that had the focus gets it back, and the dialog leaves the DOM
// when it closes. Pages append their dialogs to their own root, so leaving
// the page takes an open dialog with it.

export interface Modal {
  dialog: HTMLDialogElement;
  close(): void;
}

export function openModal(dialog: HTMLDialogElement, container: Element = document.body, onClose?: () => void): Modal {
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  let closed = false;
  dialog.addEventListener("close", () => {
    if (closed) return;
    closed = true;
    dialog.remove();
    onClose?.();
    if (opener && opener.isConnected) opener.focus();
  });
  container.appendChild(dialog);
  dialog.showModal();
  // The first field, else the first button, takes the focus (not a "close" ×).
  const first = dialog.querySelector<HTMLElement>("[autofocus], input:not([type=hidden]):not([disabled]), select, textarea, button");
  first?.focus();
  return {
    dialog,
    close: () => {
      if (dialog.open) dialog.close();
      else if (!closed) dialog.dispatchEvent(new Event("close"));
    },
  };
}
