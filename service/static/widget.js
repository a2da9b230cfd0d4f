// @ts-check
/*
 * citechat widget: one tag adds a chat about the site's articles to any page.
 *
 *   <script src="https://HOST/widget.js" data-title="Ask our newsroom" defer></script>
 *
 * Options (data-* attributes): title, accent (a CSS colour), placeholder, api (the service's
 * base URL; defaults to the origin this script was loaded from), collection (the collection
 * answers come from; defaults to the service's default one); filters sent with every
 * question: published-after and published-before (YYYY-MM-DD), source-host (host names,
 * separated by spaces or commas). See docs/filters.md.
 * The widget lives in an open Shadow DOM. Text from the service is only ever inserted as text
 * (textContent / text nodes), and only http(s) links are made clickable.
 * Type-checked by `tsc` (// @ts-check, the JSDoc types below; see tsconfig.json).
 */

/**
 * @typedef {{marker: number, document_id: string, title: string, source: string,
 *   published: string, quote: string}} Citation
 * @typedef {{role: "user", content: string}} UserTurn
 * @typedef {{role: "assistant", content: string, answered: boolean, citations: Citation[],
 *   notice: string | null, stopped: boolean}} AssistantTurn
 * @typedef {UserTurn | AssistantTurn} Turn
 * @typedef {{type: string, data: string}} SseEvent
 */

(() => {
  "use strict";

  const script = /** @type {HTMLScriptElement | null} */ (
    document.currentScript || document.querySelector('script[src$="widget.js"]')
  );
  if (!script || document.querySelector("citechat-widget")) return;

  const options = script.dataset;
  const apiBase = new URL(options.api || "/", script.src || location.href).href.replace(/\/+$/, "");
  const config = {
    title: options.title || "Ask about these articles",
    placeholder: options.placeholder || "Ask a question about the articles",
    accent: options.accent && CSS.supports("color", options.accent) ? options.accent : "#0b5fff",
    endpoint:
      apiBase +
      "/api/chat" +
      (options.collection ? "?collection=" + encodeURIComponent(options.collection) : ""),
    storageKey: "citechat:" + apiBase + (options.collection ? "|" + options.collection : ""),
    filters: filtersOf(options.publishedAfter, options.publishedBefore, options.sourceHost),
  };

  /**
   * The filters the tag's attributes set, as POST /api/chat takes them; null when none.
   * @param {string | undefined} after
   * @param {string | undefined} before
   * @param {string | undefined} hosts host names separated by spaces or commas
   * @returns {Record<string, string | string[]> | null}
   */
  function filtersOf(after, before, hosts) {
    /** @type {Record<string, string | string[]>} */
    const filters = {};
    if (after && after.trim()) filters.published_after = after.trim();
    if (before && before.trim()) filters.published_before = before.trim();
    const names = (hosts || "").split(/[\s,]+/).filter(Boolean);
    if (names.length) filters.source_hosts = names;
    return Object.keys(filters).length ? filters : null;
  }

  const CSS_TEXT = `
:host { all: initial !important; }
.root {
  --cc-bg: #ffffff; --cc-fg: #1a1d21; --cc-muted: #59616c; --cc-border: #d3d8de;
  --cc-soft: #f1f3f6; --cc-error-bg: #fdecea; --cc-error-fg: #8a1c1c;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--cc-fg); text-align: left; direction: ltr;
}
@media (prefers-color-scheme: dark) {
  .root {
    --cc-bg: #1c1f24; --cc-fg: #e9ebee; --cc-muted: #a3abb6; --cc-border: #3b4149;
    --cc-soft: #272b32; --cc-error-bg: #3a1d1d; --cc-error-fg: #ffb4ab;
  }
}
*, *::before, *::after { box-sizing: border-box; }
button { font: inherit; cursor: pointer; }
:focus-visible { outline: 2px solid #ffffff; outline-offset: 0; box-shadow: 0 0 0 4px #1a1d21; }
.sr {
  position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap;
}
.launcher {
  position: fixed; right: 20px; bottom: 20px; z-index: 2147483000;
  display: flex; align-items: center; gap: 8px; min-height: 48px; padding: 10px 18px;
  border: 0; border-radius: 999px; background: var(--cc-accent); color: var(--cc-on-accent);
  font-weight: 600; box-shadow: 0 4px 16px rgba(0, 0, 0, .28);
}
.launcher svg { width: 22px; height: 22px; fill: currentColor; }
.panel {
  position: fixed; right: 20px; bottom: 84px; z-index: 2147483001;
  width: min(420px, calc(100vw - 40px)); height: min(640px, calc(100vh - 104px));
  display: flex; flex-direction: column;
  overflow: clip; /* not hidden: a clipping box is never scrolled by scrollIntoView */
  background: var(--cc-bg); border: 1px solid var(--cc-border); border-radius: 14px;
  box-shadow: 0 12px 40px rgba(0, 0, 0, .3);
}
.panel[hidden] { display: none; }
header {
  display: flex; align-items: center; gap: 6px; padding: 8px 8px 8px 16px;
  background: var(--cc-accent); color: var(--cc-on-accent);
}
h2 {
  flex: 1; margin: 0; font-size: 16px; font-weight: 650;
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
}
header button {
  min-height: 36px; min-width: 36px; padding: 4px 10px; border-radius: 8px;
  border: 1px solid currentColor; background: transparent; color: inherit; font-size: 14px;
}
header .close { border-color: transparent; font-size: 22px; line-height: 1; }
.log {
  flex: 1; overflow-y: auto; overscroll-behavior: contain; padding: 16px;
  display: flex; flex-direction: column; gap: 12px;
}
.intro { margin: auto 0; color: var(--cc-muted); text-align: center; }
.msg { overflow-wrap: anywhere; }
.msg p { margin: 0; }
.user {
  align-self: flex-end; max-width: 85%; padding: 8px 12px; white-space: pre-wrap;
  border-radius: 14px 14px 4px 14px; background: var(--cc-accent); color: var(--cc-on-accent);
}
.bot { padding: 10px 12px; border-radius: 14px 14px 14px 4px; background: var(--cc-soft); }
.bot .text { white-space: pre-wrap; }
.unanswered { background: transparent; border: 1px dashed var(--cc-muted); }
.unanswered .label {
  margin-bottom: 4px;
  color: var(--cc-muted); font-size: 13px; font-weight: 650;
}
.error {
  padding: 10px 12px; border-radius: 10px; border: 1px solid currentColor;
  background: var(--cc-error-bg); color: var(--cc-error-fg);
}
.error button {
  margin-top: 6px; padding: 4px 12px; border: 1px solid currentColor; border-radius: 8px;
  background: none; color: inherit; font-weight: 600;
}
.notice { margin-top: 6px !important; color: var(--cc-muted); font-size: 13px; font-style: italic; }
sup { line-height: 0; }
.marker {
  min-width: 17px; margin: 0 1px; padding: 1px 4px; border: 0; border-radius: 9px;
  background: var(--cc-accent); color: var(--cc-on-accent);
  font-size: 11px; font-weight: 700; line-height: 1.2; text-decoration: none;
}
.sources {
  display: grid; gap: 10px; margin: 10px 0 0; padding: 10px 0 0; list-style: none;
  border-top: 1px solid var(--cc-border); font-size: 14px;
}
.sources li { display: grid; grid-template-columns: auto 1fr; gap: 2px 8px; scroll-margin: 8px; }
.nums { grid-row: span 3; display: flex; flex-direction: column; gap: 4px; }
.num {
  min-width: 22px; height: 22px; padding: 0 4px; border-radius: 11px;
  background: var(--cc-accent); color: var(--cc-on-accent); font-size: 12px; font-weight: 700;
  text-align: center; line-height: 22px;
}
.sources a, .sources .title { color: var(--cc-fg); font-weight: 600; }
.meta { color: var(--cc-muted); font-size: 13px; }
summary { cursor: pointer; color: var(--cc-muted); font-size: 13px; width: fit-content; }
blockquote {
  margin: 6px 0 0; padding: 6px 10px; border-left: 3px solid var(--cc-accent);
  background: var(--cc-bg); font-style: italic; white-space: pre-wrap;
}
.typing { display: inline-flex; gap: 4px; padding: 6px 0; }
.typing i {
  width: 7px; height: 7px; border-radius: 50%; background: var(--cc-muted);
  animation: cc-blink 1.2s infinite;
}
.typing i:nth-child(3) { animation-delay: .2s; }
.typing i:nth-child(4) { animation-delay: .4s; }
@keyframes cc-blink { 0%, 80%, 100% { opacity: .25; } 40% { opacity: 1; } }
form {
  display: flex; gap: 8px; align-items: flex-end; padding: 10px;
  border-top: 1px solid var(--cc-border);
}
textarea {
  flex: 1; min-width: 0; min-height: 44px; max-height: 128px; resize: none;
  margin: 0; padding: 10px 12px;
  font: inherit; color: var(--cc-fg); background: var(--cc-bg);
  border: 1px solid var(--cc-muted); border-radius: 10px;
}
textarea:focus-visible {
  outline: 2px solid var(--cc-accent); outline-offset: 1px; box-shadow: none;
}
textarea::placeholder { color: var(--cc-muted); opacity: 1; }
form button {
  min-height: 44px; padding: 0 16px; border: 0; border-radius: 10px;
  background: var(--cc-accent); color: var(--cc-on-accent); font-weight: 600;
}
form .stop { background: transparent; color: var(--cc-fg); border: 1px solid var(--cc-muted); }
form button[hidden] { display: none; }
.hint { margin: 0; padding: 0 12px 8px; color: var(--cc-muted); font-size: 12px; }
@media (max-width: 480px) {
  .panel { inset: 0; width: 100%; height: 100%; border: 0; border-radius: 0; }
}
@media (prefers-reduced-motion: reduce) { .typing i { animation: none; opacity: .6; } }
`;

  /**
   * Create an element; attribute values and text children are set as data, never parsed.
   * @template {keyof HTMLElementTagNameMap} K
   * @param {K} tag
   * @param {Record<string, string>} [attributes]
   * @param {...(Node | string)} children
   * @returns {HTMLElementTagNameMap[K]}
   */
  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    node.append(...children);
    return node;
  }

  const srOnly = (/** @type {string} */ text) => el("span", { class: "sr" }, text);

  /**
   * The URL when it is an absolute http(s) URL, otherwise null.
   * @param {string} value
   */
  function safeUrl(value) {
    try {
      const url = new URL(value);
      return url.protocol === "http:" || url.protocol === "https:" ? url : null;
    } catch {
      return null;
    }
  }

  /**
   * "2025-05-23" as a date in the page's language, e.g. "23 May 2025".
   * @param {string} iso
   */
  function humanDate(iso) {
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
    if (!match) return iso;
    const date = new Date(Date.UTC(+match[1], +match[2] - 1, +match[3]));
    /** @type {Intl.DateTimeFormatOptions} */
    const format = { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" };
    try {
      return date.toLocaleDateString(document.documentElement.lang || undefined, format);
    } catch {
      return date.toLocaleDateString(undefined, format);
    }
  }

  const asText = (/** @type {unknown} */ value) => (value == null ? "" : String(value));

  /**
   * @param {unknown} value
   * @returns {Citation}
   */
  function toCitation(value) {
    const raw = Object(value);
    return {
      marker: Number(raw.marker),
      document_id: asText(raw.document_id),
      title: asText(raw.title),
      source: asText(raw.source),
      published: asText(raw.published),
      quote: asText(raw.quote),
    };
  }

  /**
   * A stored or received turn, with every field checked, or null when it is not one.
   * @param {any} raw
   * @returns {Turn | null}
   */
  function toTurn(raw) {
    if (!raw || (raw.role !== "user" && raw.role !== "assistant")) return null;
    if (typeof raw.content !== "string") return null;
    if (raw.role === "user") return { role: "user", content: raw.content };
    return {
      role: "assistant",
      content: raw.content,
      answered: raw.answered !== false,
      citations: Array.isArray(raw.citations) ? raw.citations.map(toCitation) : [],
      notice: raw.notice ? asText(raw.notice) : null,
      stopped: raw.stopped === true,
    };
  }

  /* ---- persistence (sessionStorage: the conversation survives navigation in this tab) ---- */

  /** @returns {{turns: Turn[], open: boolean}} */
  function loadSaved() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(config.storageKey) || "{}");
      /** @type {(Turn | null)[]} */
      const turns = Array.isArray(saved.turns) ? saved.turns.map(toTurn) : [];
      const valid = /** @type {Turn[]} */ (turns.includes(null) ? [] : turns);
      return { turns: valid, open: saved.open === true };
    } catch {
      return { turns: [], open: false };
    }
  }

  function save() {
    // A question still waiting for its answer is not kept: its answer would be lost anyway.
    const turns = state.turns.at(-1)?.role === "user" ? state.turns.slice(0, -1) : state.turns;
    try {
      sessionStorage.setItem(config.storageKey, JSON.stringify({ turns, open: state.open }));
    } catch {
      /* storage full or disabled: the conversation just is not kept */
    }
  }

  /* ---- reading the answer stream (Server-Sent Events over fetch) ---- */

  /**
   * Yield `{type, data}` for each event of an SSE body.
   * @param {ReadableStream<Uint8Array<ArrayBuffer>>} body
   * @returns {AsyncGenerator<SseEvent>}
   */
  async function* readEvents(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let type = "";
    /** @type {string[]} */
    let data = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      const lines = buffer.split(/\r\n|\r(?!$)|\n/); // a final "\r" may be half of "\r\n"
      buffer = lines.pop() ?? "";
      for (const line of lines) {
        if (line === "") {
          if (data.length) yield { type: type || "message", data: data.join("\n") };
          type = "";
          data = [];
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "event") type = text;
        else if (field === "data") data.push(text);
      }
    }
  }

  class ChatError extends Error {}

  // Earlier messages sent with a question (4 exchanges); the service accepts 20 by default.
  const SENT_HISTORY = 8;

  /**
   * @param {SseEvent} event
   * @returns {any}
   */
  function parseData(event) {
    try {
      return JSON.parse(event.data);
    } catch {
      throw new ChatError("The chat service sent an answer this page cannot read.");
    }
  }

  /**
   * @param {Response} response
   * @returns {Promise<ChatError>}
   */
  async function httpError(response) {
    if (response.status === 429) {
      const seconds = Number.parseInt(response.headers.get("Retry-After") || "", 10);
      const wait = seconds > 0 ? `${seconds} second${seconds === 1 ? "" : "s"}` : "a moment";
      return new ChatError(`Too many questions in a short time. Please wait ${wait}, then retry.`);
    }
    let detail = response.statusText;
    try {
      detail = asText((await response.json()).detail) || detail;
    } catch {
      /* not JSON: keep the status text */
    }
    const what =
      response.status >= 500
        ? "The chat service could not answer right now"
        : "The chat service did not accept the question";
    return new ChatError(`${what}: ${detail} (HTTP ${response.status}).`);
  }

  /* ---- the DOM ---- */

  const host = document.createElement("citechat-widget");
  const shadow = host.attachShadow({ mode: "open" });
  const root = el("div", { class: "root" });
  root.style.setProperty("--cc-accent", config.accent);

  const icon = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  const iconPath = document.createElementNS("http://www.w3.org/2000/svg", "path");
  iconPath.setAttribute(
    "d",
    "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z",
  );
  icon.append(iconPath);

  const launcher = el(
    "button",
    {
      type: "button",
      class: "launcher",
      "aria-haspopup": "dialog",
      "aria-expanded": "false",
      "aria-controls": "cc-panel",
    },
    icon,
    config.title,
  );
  const newChat = el("button", { type: "button", class: "new" }, "New chat");
  const closeButton = el(
    "button",
    { type: "button", class: "close", "aria-label": "Close chat" },
    "×",
  );
  const log = el("div", {
    class: "log",
    role: "log",
    "aria-live": "polite",
    "aria-label": "Conversation",
    tabindex: "0",
  });
  const input = el("textarea", { id: "cc-input", rows: "1", placeholder: config.placeholder });
  const sendButton = el("button", { type: "submit", class: "send" }, "Send");
  const stopButton = el("button", { type: "button", class: "stop", hidden: "" }, "Stop");
  const form = el(
    "form",
    {},
    el("label", { class: "sr", for: "cc-input" }, "Your question"),
    input,
    sendButton,
    stopButton,
  );
  const panel = el(
    "section",
    { id: "cc-panel", class: "panel", role: "dialog", "aria-labelledby": "cc-title", hidden: "" },
    el("header", {}, el("h2", { id: "cc-title" }, config.title), newChat, closeButton),
    log,
    form,
    el(
      "p",
      { class: "hint", id: "cc-hint" },
      "Answers quote and link the articles they come from. Enter sends, Shift+Enter adds a line.",
    ),
  );
  input.setAttribute("aria-describedby", "cc-hint");
  root.append(launcher, panel);

  if ("adoptedStyleSheets" in ShadowRoot.prototype) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS_TEXT); // constructed sheets also work under a strict style-src CSP
    shadow.adoptedStyleSheets = [sheet];
  } else {
    shadow.append(el("style", {}, CSS_TEXT));
  }
  shadow.append(root);

  /** White or near-black text on the accent colour, whichever contrasts more. */
  function setAccentText() {
    const rgb = getComputedStyle(launcher).backgroundColor.match(/[\d.]+/g);
    if (!rgb || rgb.length < 3) return root.style.setProperty("--cc-on-accent", "#ffffff");
    const [r, g, b] = rgb.slice(0, 3).map((v) => {
      const c = Number(v) / 255;
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    const luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    const onAccent =
      1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.0625 ? "#ffffff" : "#1a1d21";
    root.style.setProperty("--cc-on-accent", onAccent);
  }

  /* ---- rendering turns ---- */

  function scrollToEnd() {
    log.scrollTop = log.scrollHeight;
  }

  /**
   * Fill `node` with the answer text, turning each cited [n] into a superscript link.
   * @param {HTMLElement} node
   * @param {string} text
   * @param {Citation[]} citations
   * @param {(marker: number) => void} onMarker
   */
  function fillText(node, text, citations, onMarker) {
    const byMarker = new Map(citations.map((c) => [c.marker, c]));
    /** @type {(Node | string)[]} */
    const parts = [];
    let last = 0;
    for (const match of text.matchAll(/\[(\d+)\]/g)) {
      parts.push(text.slice(last, match.index));
      const citation = byMarker.get(Number(match[1]));
      if (citation) {
        const label = `Source ${citation.marker}: ${citation.title}`;
        const marker = el(
          "button",
          { type: "button", class: "marker", "aria-label": label },
          String(citation.marker),
        );
        marker.addEventListener("click", () => onMarker(citation.marker));
        parts.push(el("sup", {}, marker));
      } else {
        parts.push(match[0]);
      }
      last = match.index + match[0].length;
    }
    parts.push(text.slice(last));
    node.replaceChildren(...parts);
  }

  /**
   * Citations grouped by document: one source item can carry several markers and quotes.
   * @param {Citation[]} citations
   */
  function groupByDocument(citations) {
    /** @type {Map<string, Citation[]>} */
    const groups = new Map();
    for (const citation of citations) {
      const key = citation.document_id || citation.source || citation.title;
      groups.set(key, [...(groups.get(key) || []), citation]);
    }
    return [...groups.values()];
  }

  /** @param {Citation[]} group */
  function renderSource(group) {
    const citation = group[0];
    const url = safeUrl(citation.source);
    const title = url
      ? el(
          "a",
          { href: url.href, target: "_blank", rel: "noopener noreferrer" },
          citation.title || url.href,
          srOnly(" (opens in a new tab)"),
        )
      : el("span", { class: "title" }, citation.title || "Untitled");
    const meta = el("span", { class: "meta" });
    if (citation.published)
      meta.append(el("time", { datetime: citation.published }, humanDate(citation.published)));
    if (url) meta.append(citation.published ? " · " : "", url.hostname);
    const summary = el("summary", {}, group.length > 1 ? "Quoted passages" : "Quoted passage");
    const quotes = el("details", {}, summary, ...group.map((c) => el("blockquote", {}, c.quote)));
    const numbers = el(
      "span",
      { class: "nums" },
      srOnly("Source "),
      ...group.map((c) => el("span", { class: "num" }, String(c.marker))),
    );
    return el("li", {}, numbers, title, meta, quotes);
  }

  /** @param {AssistantTurn} turn */
  function renderAnswer(turn) {
    const box = el(
      "div",
      { class: turn.answered ? "msg bot" : "msg bot unanswered" },
      srOnly("Answer: "),
    );
    if (!turn.answered) box.append(el("p", { class: "label" }, "Not found in the articles"));
    const text = el("p", { class: "text" });
    box.append(text);
    const groups = groupByDocument(turn.citations);
    const items = groups.map(renderSource);
    fillText(text, turn.content, turn.citations, (marker) => {
      const item = items[groups.findIndex((group) => group.some((c) => c.marker === marker))];
      /** @type {HTMLDetailsElement} */ (item.querySelector("details")).open = true;
      item.scrollIntoView({ block: "nearest" });
      /** @type {HTMLElement} */ (item.querySelector("a, summary")).focus();
    });
    if (items.length) {
      const heading = turn.answered ? "Sources" : "Closest articles";
      box.append(el("ol", { class: "sources", "aria-label": heading }, ...items));
    }
    if (turn.stopped)
      box.append(el("p", { class: "notice" }, "Stopped before the end of the answer."));
    if (turn.notice) box.append(el("p", { class: "notice" }, turn.notice));
    return box;
  }

  const renderUser = (/** @type {UserTurn} */ turn) =>
    el("div", { class: "msg user" }, srOnly("You: "), turn.content);
  const renderTurn = (/** @type {Turn} */ turn) =>
    turn.role === "user" ? renderUser(turn) : renderAnswer(turn);
  const intro = () =>
    el(
      "p",
      { class: "intro" },
      "Ask a question about the articles on this site. Answers cite their sources.",
    );

  /* ---- behaviour ---- */

  const saved = loadSaved();
  /** @type {{turns: Turn[], open: boolean, controller: AbortController | null}} */
  const state = { turns: saved.turns, open: saved.open, controller: null };

  function renderLog() {
    log.replaceChildren(...(state.turns.length ? state.turns.map(renderTurn) : [intro()]));
    scrollToEnd();
  }

  /** @param {boolean} busy */
  function setBusy(busy) {
    sendButton.hidden = busy;
    stopButton.hidden = !busy;
  }

  /** @param {boolean} focusInput */
  function openPanel(focusInput) {
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    state.open = true;
    save();
    scrollToEnd();
    if (focusInput) input.focus();
  }

  function closePanel() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    state.open = false;
    save();
    launcher.focus();
  }

  /** Ask the service to answer the conversation so far (its last turn is the question). */
  async function requestAnswer() {
    const controller = new AbortController();
    state.controller = controller;
    setBusy(true);
    const box = el("div", { class: "msg bot", "aria-busy": "true" }, srOnly("Answer: "));
    const text = el("p", { class: "text" });
    const typing = el(
      "span",
      { class: "typing", role: "status" },
      srOnly("Answering…"),
      el("i"),
      el("i"),
      el("i"),
    );
    box.append(text, typing);
    log.append(box);
    scrollToEnd();

    let answer = "";
    /** @type {unknown[]} */
    let citations = [];
    /** @type {Record<string, unknown> | null} */
    let finished = null;
    let started = false;
    try {
      const response = await fetch(config.endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
        body: JSON.stringify({
          messages: recentTurns().map(({ role, content }) => ({ role, content })),
          stream: true,
          ...(config.filters ? { filters: config.filters } : {}),
        }),
        signal: controller.signal,
      });
      if (!response.ok) throw await httpError(response);
      const type = response.headers.get("Content-Type") || "";
      if (!response.body || !type.startsWith("text/event-stream")) {
        throw new ChatError("The chat service sent an answer this page cannot read.");
      }
      started = true;
      for await (const event of readEvents(response.body)) {
        const data = parseData(event);
        if (event.type === "delta") {
          answer += asText(data.text);
          fillText(text, answer, [], () => {});
          scrollToEnd();
        } else if (event.type === "citations") {
          citations = Array.isArray(data.citations) ? data.citations : [];
        } else if (event.type === "done") {
          finished = data;
        } else if (event.type === "error") {
          throw new ChatError(
            `The chat service could not finish the answer: ${asText(data.detail) || "no reason given"}.`,
          );
        }
      }
      if (!finished) throw new ChatError("The answer was cut off before it finished.");
      const turn = assistantTurn({ ...finished, content: answer, citations });
      state.turns.push(turn);
      save();
      box.replaceWith(renderAnswer(turn));
    } catch (error) {
      if (state.controller !== controller) return; // "New chat" dropped this request
      if (isAbort(error) && answer) {
        const turn = assistantTurn({ content: answer, citations: [], stopped: true });
        state.turns.push(turn);
        save();
        box.replaceWith(renderAnswer(turn));
      } else {
        box.replaceWith(renderError(describe(error, started)));
      }
    } finally {
      controller.abort(); // closes the connection if the stream was left unread
      if (state.controller === controller) {
        state.controller = null;
        setBusy(false);
      }
      scrollToEnd();
    }
  }

  /**
   * The question with the last few exchanges before it: enough for follow-ups ("And now?"),
   * and a long conversation never exceeds what the service accepts in one request.
   */
  function recentTurns() {
    let start = Math.max(0, state.turns.length - 1 - SENT_HISTORY);
    while (state.turns[start].role !== "user") start += 1;
    return state.turns.slice(start);
  }

  /**
   * @param {unknown} error
   * @param {boolean} started
   */
  function describe(error, started) {
    if (error instanceof ChatError) return error.message;
    if (isAbort(error)) return "Stopped before an answer arrived.";
    return started
      ? "The connection was lost before the answer finished."
      : "Cannot reach the chat service. Check your connection, then retry.";
  }

  /** @param {unknown} error */
  function isAbort(error) {
    return Object(error).name === "AbortError";
  }

  /**
   * An answer turn from the service's fields, checked like a stored one.
   * @param {Record<string, unknown>} fields
   */
  function assistantTurn(fields) {
    return /** @type {AssistantTurn} */ (toTurn({ ...fields, role: "assistant" }));
  }

  /** @param {string} message */
  function renderError(message) {
    const retry = el("button", { type: "button" }, "Retry");
    const box = el("div", { class: "msg error", role: "alert" }, el("p", {}, message), retry);
    retry.addEventListener("click", () => {
      if (state.controller) return;
      box.remove();
      input.focus();
      requestAnswer();
    });
    return box;
  }

  /** @param {string} question */
  function ask(question) {
    if (state.controller || !question.trim()) return;
    if (state.turns.at(-1)?.role === "user") {
      // The previous question failed and was not retried: this one replaces it.
      state.turns.pop();
      renderLog();
    }
    if (!state.turns.length) log.replaceChildren();
    /** @type {UserTurn} */
    const turn = { role: "user", content: question.trim() };
    state.turns.push(turn);
    log.append(renderUser(turn));
    input.value = "";
    fitInput();
    requestAnswer();
  }

  function fitInput() {
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight + 2, 128)}px`;
  }

  launcher.addEventListener("click", () => (panel.hidden ? openPanel(true) : closePanel()));
  closeButton.addEventListener("click", closePanel);
  newChat.addEventListener("click", () => {
    const pending = state.controller;
    state.controller = null;
    pending?.abort();
    setBusy(false);
    state.turns = [];
    save();
    renderLog();
    input.focus();
  });
  stopButton.addEventListener("click", () => {
    state.controller?.abort();
    input.focus();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    ask(input.value);
  });
  input.addEventListener("input", fitInput);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ask(input.value);
    }
  });
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      closePanel();
    }
  });

  // Outside <body>, so a transform or filter on the page's body cannot displace the panel.
  document.documentElement.append(host);
  setAccentText();
  renderLog();
  if (state.open) openPanel(false);
})();
