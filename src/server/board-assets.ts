import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { Hono, type MiddlewareHandler } from "hono";

/** Where hookrail's own board assets live, relative to the board's base path. */
export const BOARD_ASSETS = "hookrail-static";

const require = createRequire(import.meta.url);
/** The font weights bull-board's page asks Google Fonts for: IBM Plex Sans 400/500/600, Plex Mono 400/500. */
const FONTS = [
  { pkg: "@fontsource/ibm-plex-sans", weights: [400, 500, 600] },
  { pkg: "@fontsource/ibm-plex-mono", weights: [400, 500] },
] as const;
const FONT_FILE = /^ibm-plex-(sans|mono)-[a-z0-9-]+\.woff2?$/;
const fontDir = (pkg: string) => join(dirname(require.resolve(`${pkg}/400.css`)), "files");

/** One stylesheet of every @font-face the board uses, its font URLs pointing at hookrail. */
async function fontsCss(): Promise<string> {
  const parts: string[] = [];
  for (const f of FONTS) {
    const root = dirname(require.resolve(`${f.pkg}/400.css`));
    for (const w of f.weights) parts.push((await readFile(join(root, `${w}.css`), "utf8")).replaceAll("url(./files/", "url(fonts/"));
  }
  return parts.join("\n");
}

/**
 * bull-board loads its language file with fetch(). A page opened as `http://user:pass@host/...`
 * resolves that relative URL with the credentials in it, and fetch refuses such URLs, so the
 * board showed raw translation keys. Same-origin requests carry the browser's cached basic-auth
 * credentials anyway: the shim drops them from the URL. Loaded before the board's bundles
 * (which take `fetch` when they load), as a file so the CSP needs no inline script.
 */
const FETCH_SHIM = `(() => {
  const fetch = window.fetch.bind(window);
  window.fetch = (input, init) => {
    if (typeof input === "string" || input instanceof URL) {
      const url = new URL(String(input), document.baseURI);
      if (url.username || url.password) {
        url.username = "";
        url.password = "";
        return fetch(url.href, init);
      }
    }
    return fetch(input, init);
  };
})();
`;

const IMMUTABLE = "public, max-age=31536000, immutable";

/** hookrail's own assets for the board: the web fonts (self-hosted) and the fetch shim. */
export function boardAssetRoutes(): Hono {
  const app = new Hono();
  let css: Promise<string> | undefined;
  const stylesheet = () => {
    css ??= fontsCss();
    return css;
  };
  app.get("/fonts.css", async (c) => c.body(await stylesheet(), 200, { "content-type": "text/css; charset=utf-8", "cache-control": "public, max-age=86400" }));
  app.get("/fonts/:file", async (c) => {
    const file = c.req.param("file");
    const m = FONT_FILE.exec(file);
    if (!m) return c.notFound();
    const body = await readFile(join(fontDir(`@fontsource/ibm-plex-${m[1]}`), file)).catch(() => undefined);
    if (!body) return c.notFound();
    return c.body(new Uint8Array(body), 200, { "content-type": file.endsWith(".woff2") ? "font/woff2" : "font/woff", "cache-control": IMMUTABLE });
  });
  app.get("/board-shim.js", (c) => c.body(FETCH_SHIM, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "public, max-age=3600" }));
  return app;
}

/** Any <link> to another host (bull-board's page links Google Fonts): an offline ops network cannot reach it. */
const EXTERNAL_LINK = /<link\b[^>]*\bhref="(?:https?:)?\/\/[^"]*"[^>]*>\s*/gi;

/**
 * Rewrites the board's HTML page: external links out, hookrail's fonts and the fetch shim in,
 * right after `<base>` so their relative URLs resolve under the board's path.
 */
export function selfHostedBoardPage(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    if (!c.res.headers.get("content-type")?.startsWith("text/html")) return;
    const html = await c.res.text();
    const own = `<link href="${BOARD_ASSETS}/fonts.css" rel="stylesheet"><script src="${BOARD_ASSETS}/board-shim.js"></script>`;
    const rewritten = html.replace(EXTERNAL_LINK, "").replace(/(<base\b[^>]*>)/i, `$1\n    ${own}`);
    const headers = new Headers(c.res.headers);
    headers.delete("content-length");
    c.res = new Response(rewritten, { status: c.res.status, headers });
  };
}
