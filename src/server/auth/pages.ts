import { html, raw } from "hono/html";

/** Where to go after sign-in: only a path on the ops surface, never another site. */
export function safeReturnTo(value: string | undefined): string {
  return value && /^\/admin\/[^\\]*$/.test(value) && !value.startsWith("//") ? value : "/admin/queues";
}

/** A minimal page for sign-in outcomes. `trustedBody` is our own markup, never user input. */
export function messagePage(title: string, trustedBody: string, bodyIsMarkup = false): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title} · hookrail</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto"><h1>${title}</h1><p>${bodyIsMarkup ? raw(trustedBody) : trustedBody}</p></body></html>`.toString();
}
