/**
 * JupyterLab / Notebook 7 plugins: %%odyssey_simulate cells with a timeline body get
 * the timeline language; every other cell (a Python or JSON body included) keeps the
 * language JupyterLab gave it. The choice is re-made as the cell is edited. Live job
 * outputs fall back to their saved HTML when their widget is gone, and relative video
 * posters resolve like the `src` JupyterLab rewrites.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  EditorExtensionRegistry,
  IEditorExtensionRegistry
} from '@jupyterlab/codemirror';
import { Compartment, EditorState, Extension, Prec } from '@codemirror/state';
import { EditorView, ViewPlugin } from '@codemirror/view';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { Widget } from '@lumino/widgets';

import { isTimelineCell } from './detect';
import { INotebookOutputs, liveOutputFactory, LIVE_RANK } from './live';
import { timeline } from './timeline';
import { resolvePosters } from './urls';

export { detectForm, isTimelineCell } from './detect';

function timelineSwitch(): Extension {
  const mode = new Compartment();
  const on: Extension = [
    Prec.highest(timeline()),
    EditorView.editorAttributes.of({ 'data-odyssey-form': 'timeline' })
  ];
  const off: Extension = [];
  const isOn = (state: EditorState) => mode.get(state) === on;
  return [
    mode.of(off),
    EditorState.transactionExtender.of(tr => {
      if (!tr.docChanged) {
        return null;
      }
      const want = isTimelineCell(tr.newDoc.toString());
      if (want === isOn(tr.startState)) {
        return null;
      }
      return { effects: mode.reconfigure(want ? on : off) };
    }),
    ViewPlugin.define(view => {
      // The first text arrives with the editor's creation, before any transaction;
      // a view may not be reconfigured while it is being built, hence the timeout.
      let alive = true;
      if (isTimelineCell(view.state.doc.toString()) && !isOn(view.state)) {
        setTimeout(() => {
          if (alive && isTimelineCell(view.state.doc.toString()) && !isOn(view.state)) {
            view.dispatch({ effects: mode.reconfigure(on) });
          }
        });
      }
      return {
        destroy: () => {
          alive = false;
        }
      };
    })
  ];
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'odyssey-jupyter:timeline',
  description: 'Highlights %%odyssey_simulate timeline cells.',
  autoStart: true,
  requires: [IEditorExtensionRegistry],
  activate: (_app: JupyterFrontEnd, registry: IEditorExtensionRegistry) => {
    registry.addExtension({
      name: 'odyssey-jupyter:timeline',
      factory: () => EditorExtensionRegistry.createImmutableExtension(timelineSwitch())
    });
  }
};

/** A notebook panel as these plugins see it: its own registry and its kernel session. */
function notebookOutputs(panel: Widget): INotebookOutputs | null {
  const notebook = panel as Widget & {
    content?: { rendermime?: IRenderMimeRegistry };
    sessionContext?: INotebookOutputs['session'];
  };
  const registry = notebook.content?.rendermime;
  const session = notebook.sessionContext;
  return registry && session ? { registry, session } : null;
}

const liveOutputs: JupyterFrontEndPlugin<void> = {
  id: 'odyssey-jupyter:live-outputs',
  description: 'Shows the last state of a job whose live widget is gone (a reopened notebook).',
  autoStart: true,
  activate: (app: JupyterFrontEnd) => {
    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: panel => {
        const outputs = notebookOutputs(panel);
        outputs?.registry.addFactory(liveOutputFactory(outputs), LIVE_RANK);
      }
    });
  }
};

const posters: JupyterFrontEndPlugin<void> = {
  id: 'odyssey-jupyter:posters',
  description: 'Resolves the relative media URLs JupyterLab leaves in outputs (posters).',
  autoStart: true,
  activate: (app: JupyterFrontEnd) => {
    app.docRegistry.addWidgetExtension('Notebook', {
      createNew: panel => {
        const resolver = notebookOutputs(panel)?.registry.resolver;
        if (resolver) {
          const stop = resolvePosters(panel.node, resolver);
          panel.disposed.connect(stop);
        }
      }
    });
  }
};

export default [plugin, liveOutputs, posters];
