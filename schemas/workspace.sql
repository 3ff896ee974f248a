-- workspace.sql: the tables of the bundled `workspace` applier (schema 4).
--
-- Columns as docs/format.md "The `workspace` applier" gives them: camelCase
-- names, times in integer ms, booleans 0/1, *Json columns holding JSON
-- text.  No foreign keys (children may precede their parents in the event
-- order): the applier deletes children itself.  No UNIQUE(name): two
-- workspaces may share a name.  Every table keeps its implicit rowid, which
-- workspace_fts uses as content_rowid.  Idempotent: the core runs it on a
-- new cache and again whenever the applier's version changes, so it also
-- replaces what older versions made (the FTS triggers below).

CREATE TABLE IF NOT EXISTS workspaces (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  description TEXT,
  rootFolder TEXT NOT NULL,
  created INTEGER NOT NULL,
  lastAccessed INTEGER NOT NULL,
  isActive INTEGER DEFAULT 1,
  contextJson TEXT,
  dedicatedAgentId TEXT,
  isArchived INTEGER DEFAULT 0
);

CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY NOT NULL,
  workspaceId TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT,
  startTime INTEGER,
  endTime INTEGER,
  isActive INTEGER DEFAULT 0
);

CREATE TABLE IF NOT EXISTS states (
  id TEXT PRIMARY KEY NOT NULL,
  sessionId TEXT NOT NULL,
  workspaceId TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT,
  created INTEGER NOT NULL,
  stateJson TEXT,
  tagsJson TEXT
);

CREATE TABLE IF NOT EXISTS memory_traces (
  id TEXT PRIMARY KEY NOT NULL,
  sessionId TEXT NOT NULL,
  workspaceId TEXT NOT NULL,
  timestamp INTEGER NOT NULL,
  type TEXT,
  content TEXT,
  metadataJson TEXT
);

-- Lookups of archived workspaces (schema 2), by workspace (also what a
-- workspace delete and a session move use) and by session; traces are read
-- newest first.
CREATE INDEX IF NOT EXISTS idx_workspaces_archived ON workspaces (isArchived);
CREATE INDEX IF NOT EXISTS sessions_workspace ON sessions (workspaceId);
CREATE INDEX IF NOT EXISTS states_workspace ON states (workspaceId);
CREATE INDEX IF NOT EXISTS states_session ON states (sessionId);
CREATE INDEX IF NOT EXISTS memory_traces_workspace
  ON memory_traces (workspaceId, timestamp);
CREATE INDEX IF NOT EXISTS memory_traces_session
  ON memory_traces (sessionId, timestamp);

-- Full-text search over workspaces, external content.  The id is shown, not
-- searched.
CREATE VIRTUAL TABLE IF NOT EXISTS workspace_fts USING fts5 (
  id UNINDEXED, name, description,
  content = 'workspaces', content_rowid = 'rowid'
);

-- The index is brought up to date once per batch, not once per row (FTS5
-- writes a new segment at every savepoint, and every event runs in one):
-- the triggers below only note the rows a batch touches, and end_batch
-- (workspace.c) updates the index from these notes, then empties them.
-- One row per workspaces rowid, from the batch's first touch of it:
-- indexed = 1 when the index held the row as the batch began, with the
-- values it holds (which end_batch deletes from the index); 0 when the
-- batch inserted the row.  The rows still in workspaces at the end of the
-- batch are indexed afresh.  Empty between batches.
CREATE TABLE IF NOT EXISTS workspace_fts_pending (
  contentRowid INTEGER PRIMARY KEY,
  indexed INTEGER NOT NULL,
  id TEXT,
  name TEXT,
  description TEXT
);

-- Before 1.1.0 these triggers wrote to the index: replace them.  The names
-- are begin_rebuild's.
DROP TRIGGER IF EXISTS workspace_fts_insert;
DROP TRIGGER IF EXISTS workspace_fts_delete;
DROP TRIGGER IF EXISTS workspace_fts_update;

-- embed.py writes out this line as the three triggers.  Most updates
-- only move lastAccessed: those leave the index alone.
-- @fts-pending-triggers workspace_fts ON workspaces INTO workspace_fts_pending ANY id name description

-- Late creates and updates applied in place (schema 3, every create and
-- update recorded since schema 4; workspace.c, the header comment "Late
-- creates in place"): per row, the key of the latest event that acted or
-- may have acted on it.  kind is the row's
-- table ('workspaces', 'sessions', 'states', 'memory_traces') or 'moves'
-- (id a session that moved), or, since schema 5, '<table>.<key>': the
-- latest event that set that column of the row or removed the row
-- (workspace.c, "Late updates overwritten"), or, since schema 6,
-- 'workspaces:inserted' and 'sessions:inserted': the latest create that
-- inserted the row (workspace.c, "Late updates partly overwritten").
-- Bookkeeping, not among the applier's tables:
-- clear() empties it with them, and a schema that changes it drops it here.
CREATE TABLE IF NOT EXISTS workspace_changes (
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  ts INTEGER NOT NULL,
  device TEXT NOT NULL,
  eventId TEXT NOT NULL,
  PRIMARY KEY (kind, id)
) WITHOUT ROWID;

-- Every workspace_deleted (schema 3), by key: a late create in a workspace
-- deleted later is applied, then deleted as that delete would have.
CREATE TABLE IF NOT EXISTS workspace_deletes (
  workspaceId TEXT NOT NULL,
  ts INTEGER NOT NULL,
  device TEXT NOT NULL,
  eventId TEXT NOT NULL,
  PRIMARY KEY (workspaceId, ts, device, eventId)
) WITHOUT ROWID;
