-- conversation.sql: the tables of the `conversation` applier
-- (docs/format.md, "The `conversation` applier").  Idempotent: the core
-- runs it on a new cache and again whenever the applier's version changes,
-- so it also replaces what older versions made (the FTS triggers below).
-- The DEFAULTs are upstream's; the applier always writes every column
-- itself (docs/format.md: the applier's defaults apply, never the schema's).
-- No foreign keys: messages may precede their conversation in the order,
-- and deletes cascade through explicit DELETE statements.  Schema 2 added
-- the six columns after messageCount, derived from the settings.

CREATE TABLE IF NOT EXISTS conversations (
  id TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  vaultName TEXT NOT NULL,
  metadataJson TEXT,
  messageCount INTEGER DEFAULT 0,
  workspaceId TEXT,
  sessionId TEXT,
  workflowId TEXT,
  runTrigger TEXT,
  scheduledFor INTEGER,
  runKey TEXT
);

CREATE TABLE IF NOT EXISTS messages (
  id TEXT PRIMARY KEY,
  conversationId TEXT NOT NULL,
  role TEXT NOT NULL,
  content TEXT,
  timestamp INTEGER NOT NULL,
  state TEXT,
  toolCallsJson TEXT,
  toolCallId TEXT,
  reasoningContent TEXT,
  sequenceNumber INTEGER NOT NULL,
  alternativesJson TEXT,
  activeAlternativeIndex INTEGER DEFAULT 0
);

-- Upstream's lookups: a conversation's messages in order (also serves the
-- cascading delete and the count when a conversation is created), recent
-- conversations.
CREATE INDEX IF NOT EXISTS idx_messages_conversation
  ON messages (conversationId, sequenceNumber);
CREATE INDEX IF NOT EXISTS idx_conversations_updated
  ON conversations (updated);
-- Upstream's lookups by what the settings say.
CREATE INDEX IF NOT EXISTS idx_conversations_workspace
  ON conversations (workspaceId);
CREATE INDEX IF NOT EXISTS idx_conversations_session
  ON conversations (sessionId);
CREATE INDEX IF NOT EXISTS idx_conversations_workflow
  ON conversations (workflowId);
CREATE INDEX IF NOT EXISTS idx_conversations_run_trigger
  ON conversations (runTrigger);
CREATE INDEX IF NOT EXISTS idx_conversations_scheduled_for
  ON conversations (scheduledFor);
CREATE INDEX IF NOT EXISTS idx_conversations_run_key
  ON conversations (runKey);

-- messageCount: a conversation's create counts its messages (they may come
-- first); from then on each message row inserted or deleted moves it by
-- one.  A message never changes conversation, and rows are only ever
-- updated in place, so the count stays exact without a recount per message.
CREATE TRIGGER IF NOT EXISTS messages_count_insert AFTER INSERT ON messages
BEGIN
  UPDATE conversations SET messageCount = messageCount + 1
    WHERE id = new.conversationId;
END;

CREATE TRIGGER IF NOT EXISTS messages_count_delete AFTER DELETE ON messages
BEGIN
  UPDATE conversations SET messageCount = messageCount - 1
    WHERE id = old.conversationId;
END;

-- Late events applied in place (schema 3; conversation.c, the header
-- comment "Late events in place"): per id, the timestamp of the latest
-- event that changed or may have changed it.  kind 0: a message id (every
-- message, message_updated and message_deleted naming it, and a
-- conversation_deleted for each message it deletes); 1: a conversation's
-- life (metadata, conversation_deleted); 2: its columns
-- (conversation_updated).  Bookkeeping, not among the applier's tables:
-- clear() empties it with them.
CREATE TABLE IF NOT EXISTS conversation_changes (
  kind INTEGER NOT NULL,
  id TEXT NOT NULL,
  ts INTEGER NOT NULL,
  PRIMARY KEY (kind, id)
) WITHOUT ROWID;

-- Full-text search over external content, keyed by the tables' rowids.
-- Rows are only ever updated in place (never INSERT OR REPLACE), so a row
-- keeps its rowid.
CREATE VIRTUAL TABLE IF NOT EXISTS conversation_fts USING fts5 (
  id, title,
  content = 'conversations', content_rowid = 'rowid'
);

CREATE VIRTUAL TABLE IF NOT EXISTS message_fts USING fts5 (
  id, conversationId, content, reasoningContent,
  content = 'messages', content_rowid = 'rowid'
);

-- The indexes are brought up to date once per batch, not once per row:
-- FTS5 writes its pending terms out as a new segment at every savepoint,
-- and the core runs every event, as SQLite runs every statement that fires
-- a trigger, inside one.  So the triggers below only note the rows a batch
-- touches, and end_batch (conversation.c) updates the indexes from these
-- notes, a few statements per index, then empties them: they are empty
-- between batches.  One row per content rowid, from the batch's first
-- touch of it: indexed = 1 when the index held the row as the batch began,
-- with the values it holds (which end_batch deletes from the index); 0
-- when the batch inserted the row.  The rows still in the content table at
-- the end of the batch are indexed afresh.
CREATE TABLE IF NOT EXISTS conversation_fts_pending (
  contentRowid INTEGER PRIMARY KEY,
  indexed INTEGER NOT NULL,
  id TEXT,
  title TEXT
);

CREATE TABLE IF NOT EXISTS message_fts_pending (
  contentRowid INTEGER PRIMARY KEY,
  indexed INTEGER NOT NULL,
  id TEXT,
  conversationId TEXT,
  content TEXT,
  reasoningContent TEXT
);

-- Before 0.3.0 these triggers wrote to the indexes: replace them.  The
-- UPDATE triggers fire only when an indexed column changes, so bumping
-- conversations.updated or messageCount, or re-setting a message's text to
-- what it was, re-indexes nothing.  The names are begin_rebuild's.
DROP TRIGGER IF EXISTS conversations_fts_insert;
DROP TRIGGER IF EXISTS conversations_fts_delete;
DROP TRIGGER IF EXISTS conversations_fts_update;
DROP TRIGGER IF EXISTS messages_fts_insert;
DROP TRIGGER IF EXISTS messages_fts_delete;
DROP TRIGGER IF EXISTS messages_fts_update;

-- embed.py writes out these two lines as the three triggers of each table.
-- @fts-pending-triggers conversations_fts ON conversations INTO conversation_fts_pending id title
-- @fts-pending-triggers messages_fts ON messages INTO message_fts_pending id conversationId content reasoningContent
