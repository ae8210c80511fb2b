// Saving the editor's work as revisions: typed text waits for a pause in typing, every
// save waits for the ones before it, and a failed save is announced and resolves false.

import { ApiError, requestJSON } from "./api.js";
import { announce, announceError, t } from "./ui.js";

const AUTOSAVE_DELAY_MS = 800;

export class RevisionSaver {
  // currentRevision() is the revision edits are based on; onSaved(transcript, {structural})
  // takes in what the API answered; showState(key, params) tells the editor how it went.
  constructor({ transcriptUrl, currentRevision, onSaved, showState }) {
    this.transcriptUrl = transcriptUrl;
    this.currentRevision = currentRevision;
    this.onSaved = onSaved;
    this.showState = showState;
    this.pendingText = new Map(); // segment id -> text typed but not yet saved
    this.autosaveTimer = 0;
    this.queue = Promise.resolve(true);
  }

  hasUnsaved(segmentId = null) {
    return segmentId === null ? this.pendingText.size > 0 : this.pendingText.has(segmentId);
  }

  queueText(segmentId, text) {
    this.pendingText.set(segmentId, text);
    this.showState("editor.unsaved");
    clearTimeout(this.autosaveTimer);
    this.autosaveTimer = setTimeout(() => this.submit([]), AUTOSAVE_DELAY_MS);
  }

  dropText(segmentId) {
    this.pendingText.delete(segmentId);
  }

  // Typed text first, then the structural ops, in one PATCH: one new revision.
  submit(structuralOps) {
    clearTimeout(this.autosaveTimer);
    return this.afterEarlierSaves(async () => {
      const textOps = [...this.pendingText].map(([segmentId, text]) => ({
        op: "set_text", segment_id: segmentId, text,
      }));
      const ops = [...textOps, ...structuralOps];
      if (!ops.length) return;
      this.pendingText.clear();
      this.showState("editor.saving");
      let updated;
      try {
        updated = await requestJSON(this.transcriptUrl, {
          method: "PATCH", body: { base_revision: this.currentRevision(), ops },
        });
      } catch (error) {
        // Keep what was typed for the next attempt, unless it was retyped meanwhile.
        for (const op of textOps) {
          if (!this.pendingText.has(op.segment_id)) this.pendingText.set(op.segment_id, op.text);
        }
        throw error;
      }
      await this.onSaved(updated, { structural: structuralOps.length > 0 });
      this.showState("editor.saved", { revision: this.currentRevision() });
    });
  }

  // Any other request that makes a revision (restore, a registry voice), after the text.
  async send(url, body = undefined) {
    if (!(await this.submit([]))) return false;
    return this.afterEarlierSaves(async () => {
      this.showState("editor.saving");
      await this.onSaved(await requestJSON(url, { method: "POST", body }), { structural: true });
      this.showState("editor.saved", { revision: this.currentRevision() });
    });
  }

  afterEarlierSaves(save) {
    this.queue = this.queue.then(async () => {
      try {
        await save();
        return true;
      } catch (error) {
        this.showState("editor.save_failed");
        if (error instanceof ApiError && error.status === 409) {
          announce(t("editor.conflict"), { error: true });
        } else {
          announceError(error);
        }
        return false;
      }
    });
    return this.queue;
  }
}
