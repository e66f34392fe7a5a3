/**
 * Relative media URLs that JupyterLab leaves alone.
 *
 * JupyterLab and Notebook 7 rewrite a relative `src` (and an anchor's `href`) in
 * an output to their files route, but not a video's `poster`, nor anything inside
 * a widget's HTML: the browser asks the page's own URL for it, gets the
 * application page back and shows a black tile. This extension resolves every relative `poster` in a notebook's outputs
 * with the notebook's own URL resolver, the same way JupyterLab resolves `src`:
 * live outputs, saved ones reopened, trusted or not, and videos added later (a
 * gallery's comparison). An exported page opened from disk needs nothing: its
 * relative URLs already resolve beside it.
 */
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';

/**
 * The attributes JupyterLab does not rewrite, per element: a poster never, and a
 * video's src not inside a widget's HTML (a live sweep's gallery). A src that
 * JupyterLab has rewritten is no longer relative and is left alone.
 */
const UNRESOLVED: ReadonlyArray<[string, string]> = [
  ['video', 'poster'],
  ['video', 'src']
];
const SELECTOR = UNRESOLVED.map(([tag, attr]) => `${tag}[${attr}]`).join(',');
const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/** A path beside the notebook: no scheme, not rooted, not a fragment. */
export function isRelative(url: string): boolean {
  const value = url.trim();
  return value !== '' && !SCHEME.test(value) && !/^[/\\#?]/.test(value);
}

async function resolve(
  element: Element,
  attr: string,
  resolver: IRenderMime.IResolver
): Promise<void> {
  const source = element.getAttribute(attr) ?? '';
  if (!isRelative(source)) {
    return;
  }
  try {
    const path = await resolver.resolveUrl(source);
    const url = await resolver.getDownloadUrl(path);
    // Another change may have come first: only the value looked up is replaced.
    if (element.getAttribute(attr) === source) {
      element.setAttribute(attr, url);
    }
  } catch {
    // Left as it was: the browser shows no poster, as it would without this.
  }
}

function fixAll(root: Node, resolver: IRenderMime.IResolver): void {
  if (!(root instanceof Element)) {
    return;
  }
  const found = Array.from(root.querySelectorAll(SELECTOR));
  if (root.matches(SELECTOR)) {
    found.push(root);
  }
  for (const element of found) {
    for (const [tag, attr] of UNRESOLVED) {
      if (element.localName === tag) {
        void resolve(element, attr, resolver);
      }
    }
  }
}

/**
 * Resolve the relative posters under `root` now and whenever outputs change.
 * Returns the function that stops watching.
 */
export function resolvePosters(root: HTMLElement, resolver: IRenderMime.IResolver): () => void {
  const watcher = new MutationObserver(records => {
    for (const record of records) {
      if (record.type === 'attributes') {
        fixAll(record.target, resolver);
      } else {
        record.addedNodes.forEach(node => fixAll(node, resolver));
      }
    }
  });
  watcher.observe(root, {
    childList: true,
    subtree: true,
    attributes: true,
    attributeFilter: UNRESOLVED.map(([, attr]) => attr)
  });
  fixAll(root, resolver);
  return () => watcher.disconnect();
}
