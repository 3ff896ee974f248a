-- workspace.sql: the tables of the bundled `workspace` applier (schema 1).
--
-- Columns as FORMAT.md "The cache tables" gives them: camelCase names,
-- times in integer ms, booleans 0/1, *Json columns holding JSON text.  No
-- foreign keys (children may precede their parents in the event order): the
-- applier deletes children itself.  No UNIQUE(name): two workspaces may
-- share a name.  Every table keeps its implicit rowid, which workspace_fts
-- uses as content_rowid.  Idempotent: run on every connection.

CREATE TABLE IF NOT EXISTS workspaces (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  description TEXT,
  rootFolder TEXT NOT NULL,
  created INTEGER NOT NULL,
  lastAccessed INTEGER NOT NULL,
  isActive INTEGER DEFAULT 1,
  contextJson TEXT,
  dedicatedAgentId TEXT
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

-- Lookups by workspace (also what a workspace delete and clear_stream use)
-- and by session; traces are read newest first.
CREATE INDEX IF NOT EXISTS sessions_workspace ON sessions (workspaceId);
CREATE INDEX IF NOT EXISTS states_workspace ON states (workspaceId);
CREATE INDEX IF NOT EXISTS states_session ON states (sessionId);
CREATE INDEX IF NOT EXISTS memory_traces_workspace
  ON memory_traces (workspaceId, timestamp);
CREATE INDEX IF NOT EXISTS memory_traces_session
  ON memory_traces (sessionId, timestamp);

-- Full-text search over workspaces, external content, kept exact by the
-- triggers below.  The id is shown, not searched.
CREATE VIRTUAL TABLE IF NOT EXISTS workspace_fts USING fts5 (
  id UNINDEXED, name, description,
  content = 'workspaces', content_rowid = 'rowid'
);

CREATE TRIGGER IF NOT EXISTS workspace_fts_insert AFTER INSERT ON workspaces
BEGIN
  INSERT INTO workspace_fts (rowid, id, name, description)
    VALUES (new.rowid, new.id, new.name, new.description);
END;

CREATE TRIGGER IF NOT EXISTS workspace_fts_delete AFTER DELETE ON workspaces
BEGIN
  INSERT INTO workspace_fts (workspace_fts, rowid, id, name, description)
    VALUES ('delete', old.rowid, old.id, old.name, old.description);
END;

-- Most updates only move lastAccessed: those leave the index alone.
CREATE TRIGGER IF NOT EXISTS workspace_fts_update AFTER UPDATE ON workspaces
  WHEN old.rowid IS NOT new.rowid OR old.id IS NOT new.id
    OR old.name IS NOT new.name OR old.description IS NOT new.description
BEGIN
  INSERT INTO workspace_fts (workspace_fts, rowid, id, name, description)
    VALUES ('delete', old.rowid, old.id, old.name, old.description);
  INSERT INTO workspace_fts (rowid, id, name, description)
    VALUES (new.rowid, new.id, new.name, new.description);
END;
