/**
 * Live job outputs that outlive their widget.
 *
 * A running job's output holds the live status widget plus a text/html form of
 * the state it reached, and a mark (LIVE_MIME). Saved and reopened without the
 * kernel's widget state, the widget manager can only say "Error displaying
 * widget"; this renderer draws the widget and, as soon as the manager reports
 * the model missing, draws the bundle's HTML instead. Outputs without the mark
 * are left to the usual renderers.
 */
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Panel, Widget } from '@lumino/widgets';

import liveMark from './live_mark.json';

/**
 * Written by odyssey_jupyter/display/common/live_marker.py; both sides read
 * live_mark.json (copied here from the Python package when the extension is built).
 */
export const LIVE_MIME: string = liveMark.mime;
const WIDGET_MIME = 'application/vnd.jupyter.widget-view+json';
const HTML_MIME = 'text/html';
const WIDGET_ERROR = 'Error displaying widget';
/** Above the widget manager's own factory (rank -10): lower ranks win. */
export const LIVE_RANK = -20;

/** What this renderer needs of a notebook: its registry and its kernel session. */
export interface INotebookOutputs {
  readonly registry: IRenderMimeRegistry;
  readonly session: {
    readonly isReady: boolean;
    readonly ready: Promise<void>;
    readonly session: { readonly kernel: unknown } | null;
  };
}

function nextTask(): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, 0));
}

function showsWidgetError(widget: Widget): boolean {
  return (widget.node.textContent ?? '').trim().startsWith(WIDGET_ERROR);
}

class LiveOutput extends Panel implements IRenderMime.IRenderer {
  private watcher: MutationObserver | null = null;

  constructor(
    private readonly notebook: INotebookOutputs,
    private readonly options: IRenderMime.IRendererOptions
  ) {
    super();
    this.addClass('odyssey-live-output');
  }

  private get registry(): IRenderMimeRegistry {
    return this.notebook.registry;
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this.stopWatching();
    // Until the session is ready, the last state: a notebook opened with No Kernel never
    // gets there (JupyterLab resolves `ready` only once a kernel is chosen).
    if (!this.notebook.session.isReady) {
      await this.renderFallback(model);
    }
    // The widget manager binds its own renderer factory to the notebook once the
    // kernel session is ready (renderers it did not make stay "Loading widget..."
    // forever): ask for the factory only after that, one task later.
    await this.notebook.session.ready;
    await nextTask();
    const kernel = this.notebook.session.session?.kernel ?? null;
    const widgets =
      model.data[WIDGET_MIME] === undefined || kernel === null
        ? undefined
        : this.registry.getFactory(WIDGET_MIME);
    if (widgets === undefined) {
      return this.renderFallback(model);
    }
    this.removeClass('odyssey-live-fallback');
    const inner = this.mount(widgets, WIDGET_MIME);
    // The manager may answer only once it has tried to restore saved state.
    this.watcher = new MutationObserver(() => {
      if (showsWidgetError(inner)) {
        void this.renderFallback(model);
      }
    });
    this.watcher.observe(inner.node, { childList: true, characterData: true, subtree: true });
    await inner.renderModel(model);
    if (showsWidgetError(inner)) {
      await this.renderFallback(model);
    }
  }

  dispose(): void {
    this.stopWatching();
    super.dispose();
  }

  private async renderFallback(model: IRenderMime.IMimeModel): Promise<void> {
    this.stopWatching();
    const html = this.registry.getFactory(HTML_MIME);
    if (html === undefined || model.data[HTML_MIME] === undefined) {
      const text = new Widget();
      text.node.textContent = String(model.data['text/plain'] ?? '');
      this.replaceWith(text);
      return;
    }
    this.addClass('odyssey-live-fallback');
    await this.mount(html, HTML_MIME).renderModel(model);
  }

  private mount(factory: IRenderMime.IRendererFactory, mimeType: string): IRenderMime.IRenderer {
    const renderer = factory.createRenderer({ ...this.options, mimeType });
    this.replaceWith(renderer);
    return renderer;
  }

  private replaceWith(widget: Widget): void {
    for (const old of [...this.widgets]) {
      old.dispose();
    }
    this.addWidget(widget);
  }

  private stopWatching(): void {
    this.watcher?.disconnect();
    this.watcher = null;
  }
}

/** The factory for one notebook (its widget manager is that notebook's). */
export function liveOutputFactory(notebook: INotebookOutputs): IRenderMime.IRendererFactory {
  return {
    safe: false,
    mimeTypes: [LIVE_MIME],
    defaultRank: LIVE_RANK,
    createRenderer: options => new LiveOutput(notebook, options)
  };
}
