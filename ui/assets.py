"""The web chat's CSS and the scripts its page runs (used by :mod:`ui.app` and :mod:`ui.serving`)."""

CSS = """
.rag-question { white-space: normal; }
.rag-marker { color: var(--color-accent); font-weight: 600; margin-left: 1px; }
.rag-query { font-size: .85em; opacity: .75; margin-top: .45em; }
.rag-sources { margin-top: .6em; padding-top: .4em; border-top: 1px solid var(--border-color-primary); }
.rag-sources-title { font-weight: 600; font-size: .9em; margin-bottom: .2em; }
.rag-src { margin: .45em 0; padding: .35em .6em; border-left: 3px solid var(--color-accent);
  background: var(--background-fill-secondary); border-radius: 4px; }
.rag-related .rag-src { border-left-color: var(--border-color-primary); }
.rag-src-head { font-size: .85em; }
.rag-src-title { font-weight: 600; }
.rag-src-file, .rag-docs code { font-family: var(--font-mono); font-size: .9em; }
.rag-passage { font-size: .9em; margin-top: .2em; line-height: 1.45; }
.rag-period { font-size: .85em; opacity: .8; margin-bottom: .2em; }
.rag-also { font-size: .8em; margin-top: .3em; opacity: .8; }
.rag-answer mark, .rag-article mark { background: #fde68a; color: #1f2937; padding: 0 .1em;
  border-radius: 2px; }
.rag-short { font-weight: 700; font-size: 1.08em; margin-bottom: .25em; }
.rag-error { color: #b91c1c; font-weight: 500; }
.rag-pending { opacity: .6; }
.rag-article h3 { margin: 0 0 .2em 0; font-size: 1.05em; }
.rag-article-meta { font-size: .85em; opacity: .75; margin-bottom: .5em; }
.rag-article-body { max-height: 60vh; overflow-y: auto; line-height: 1.55; padding-right: .5em; }
.rag-empty { opacity: .7; font-style: italic; }
.rag-docs { width: 100%; border-collapse: collapse; font-size: .92em; }
.rag-docs th, .rag-docs td { text-align: left; padding: .3em .5em;
  border-bottom: 1px solid var(--border-color-primary); }
.rag-num { text-align: right; }
.rag-info { margin: .2em 0 .6em 0; }
.rag-status-ok { color: #15803d; }
.rag-status-warn { color: #92400e; }
.rag-changes { margin: 0; padding-left: 1.2em; }
.rag-change-refused { color: #b91c1c; }
.rag-marker { cursor: pointer; }
.rag-copy { cursor: pointer; font-size: .8em; opacity: .7; margin-left: .6em; text-decoration: underline; }
.rag-copy-text, .rag-hidden { display: none !important; }
#rag-docs { max-height: 65vh; overflow: auto; }
.rag-docs td code { word-break: break-all; }
@media (max-width: 640px) {  /* a phone: the question box and send button above the fold */
  #rag-chat { height: 58vh !important; max-height: 58vh !important; }
  #rag-title h2 { font-size: 1.1em; margin: 0; }
  #rag-title p { display: none; }
  #rag-docs { max-height: 50vh; }
  .rag-docs th:nth-child(3), .rag-docs td:nth-child(3) { display: none; }
}
"""

# Runs in the article panel: whenever its value changes, scroll the cited span into view.
ARTICLE_JS = """
const show = () => {
  const mark = element.querySelector('mark#rag-cited');
  const body = element.querySelector('.rag-article-body');
  if (!mark || !body) return;
  const offset = mark.getBoundingClientRect().top - body.getBoundingClientRect().top;
  body.scrollTop += offset - body.clientHeight / 3;
  // The page itself moves to the panel only when a person asked for this article (a source or a
  // marker clicked), not when an answer opens its first source (on a phone that jumped away).
  if (!element.querySelector('.rag-reveal')) return;
  const r = body.getBoundingClientRect();
  if (r.top < 0 || r.top > window.innerHeight) body.scrollIntoView({block: 'nearest'});
};
watch('value', () => requestAnimationFrame(() => requestAnimationFrame(show)));
requestAnimationFrame(show);
"""

# Runs once in the page: keeps the start of the latest answer in view (the chat's own autoscroll,
# off, went to the bottom of the source cards), and makes the answers' [n] markers and copy
# buttons work (the chat's HTML is sanitised: no handlers in it, so they are delegated here).
CHAT_JS = """
const install = () => {
const chat = document.querySelector('#rag-chat');
if (!chat) { setTimeout(install, 100); return; }
const scroller = (el) => {
  for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
    const y = getComputedStyle(p).overflowY;
    if ((y === 'auto' || y === 'scroll') && p.scrollHeight > p.clientHeight) return p;
  }
  return null;
};
let pinned = 0;  // the number of the question kept at the top while its answer streams in
new MutationObserver(() => {
  const asked = chat.querySelectorAll('.rag-question');
  if (asked.length === 0 || pinned < 0 && asked.length === -pinned) return;
  const last = asked[asked.length - 1];
  const box = scroller(last);
  if (box) box.scrollTop += last.getBoundingClientRect().top - box.getBoundingClientRect().top - 8;
  const answers = chat.querySelectorAll('.rag-answer .rag-query, .rag-error');
  pinned = answers.length >= asked.length ? -asked.length : asked.length;  // done: let go
}).observe(chat, {childList: true, subtree: true, characterData: true});
chat.addEventListener('click', (event) => {
  const marker = event.target.closest('.rag-marker');
  const answer = event.target.closest('.rag-answer');
  const number = (el, prefix) => {
    const c = [...el.classList].find((x) => x.startsWith(prefix));
    return c ? c.slice(prefix.length) : null;
  };
  if (marker && answer && number(answer, 'rag-turn-') !== null) {
    const box = document.querySelector('#rag-open textarea, #rag-open input');
    // (a time stamp: clicking the same marker again is a change too)
    box.value = number(answer, 'rag-turn-') + ':' + number(marker, 'rag-n-') + ':' + Date.now();
    box.dispatchEvent(new Event('input', {bubbles: true}));
    box.dispatchEvent(new Event('change', {bubbles: true}));
    event.stopPropagation();
  }
  const copy = event.target.closest('.rag-copy');
  if (copy && answer) {
    const text = answer.querySelector('.rag-copy-text').textContent;
    navigator.clipboard.writeText(text).then(() => { copy.textContent = '✓ copié (copied)'; });
    event.stopPropagation();
  }
}, true);
};
install();
"""
