-- conversation.sql: the tables of the `conversation` applier (FORMAT.md,
-- "The cache tables the bundled appliers own").  Idempotent: it runs on
-- every connection.  The DEFAULTs are upstream's; the applier always writes
-- every column itself (FORMAT.md: "the schema's DEFAULTs are irrelevant").
-- No foreign keys: messages may precede their conversation in the order,
-- and deletes cascade through explicit DELETE statements.

CREATE TABLE IF NOT EXISTS conversations (
  id TEXT PRIMARY KEY,
  title TEXT NOT NULL,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  vaultName TEXT NOT NULL,
  metadataJson TEXT,
  messageCount INTEGER DEFAULT 0
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

-- Full-text search over external content, keyed by the tables' rowids.
-- Rows are only ever updated in place (never INSERT OR REPLACE), so a row
-- keeps its rowid.  The triggers keep both indexes exact; the UPDATE
-- triggers fire only when an indexed column is assigned, so bumping
-- conversations.updated or messageCount does not re-index the title.
CREATE VIRTUAL TABLE IF NOT EXISTS conversation_fts USING fts5 (
  id, title,
  content = 'conversations', content_rowid = 'rowid'
);

CREATE VIRTUAL TABLE IF NOT EXISTS message_fts USING fts5 (
  id, conversationId, content, reasoningContent,
  content = 'messages', content_rowid = 'rowid'
);

CREATE TRIGGER IF NOT EXISTS conversations_fts_insert
  AFTER INSERT ON conversations
BEGIN
  INSERT INTO conversation_fts (rowid, id, title)
    VALUES (new.rowid, new.id, new.title);
END;

CREATE TRIGGER IF NOT EXISTS conversations_fts_delete
  AFTER DELETE ON conversations
BEGIN
  INSERT INTO conversation_fts (conversation_fts, rowid, id, title)
    VALUES ('delete', old.rowid, old.id, old.title);
END;

CREATE TRIGGER IF NOT EXISTS conversations_fts_update
  AFTER UPDATE OF id, title ON conversations
BEGIN
  INSERT INTO conversation_fts (conversation_fts, rowid, id, title)
    VALUES ('delete', old.rowid, old.id, old.title);
  INSERT INTO conversation_fts (rowid, id, title)
    VALUES (new.rowid, new.id, new.title);
END;

CREATE TRIGGER IF NOT EXISTS messages_fts_insert
  AFTER INSERT ON messages
BEGIN
  INSERT INTO message_fts (rowid, id, conversationId, content,
                           reasoningContent)
    VALUES (new.rowid, new.id, new.conversationId, new.content,
            new.reasoningContent);
END;

CREATE TRIGGER IF NOT EXISTS messages_fts_delete
  AFTER DELETE ON messages
BEGIN
  INSERT INTO message_fts (message_fts, rowid, id, conversationId, content,
                           reasoningContent)
    VALUES ('delete', old.rowid, old.id, old.conversationId, old.content,
            old.reasoningContent);
END;

CREATE TRIGGER IF NOT EXISTS messages_fts_update
  AFTER UPDATE OF id, conversationId, content, reasoningContent ON messages
BEGIN
  INSERT INTO message_fts (message_fts, rowid, id, conversationId, content,
                           reasoningContent)
    VALUES ('delete', old.rowid, old.id, old.conversationId, old.content,
            old.reasoningContent);
  INSERT INTO message_fts (rowid, id, conversationId, content,
                           reasoningContent)
    VALUES (new.rowid, new.id, new.conversationId, new.content,
            new.reasoningContent);
END;
