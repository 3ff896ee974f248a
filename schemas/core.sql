-- jsync's own bookkeeping in the cache.  The applier tables live beside
-- these; everything here can be rebuilt from the logs.
-- Bump JSYNC_CORE_SCHEMA_VERSION (core/jsync-store.h) with any change: an
-- older cache is then rebuilt automatically (but version 2, whose lines
-- are packed in place: JSYNC_CORE_SCHEMA_UNPACKED).

CREATE TABLE IF NOT EXISTS jsync_meta (
  key TEXT PRIMARY KEY,
  value
) WITHOUT ROWID;

-- One row per log file ever read: its checkpoint and identity.
CREATE TABLE IF NOT EXISTS jsync_sources (
  id INTEGER PRIMARY KEY,
  path TEXT NOT NULL UNIQUE,       -- relative to the data folder
  dev INTEGER,                     -- identity when last read to its end;
  ino INTEGER,                     -- NULL while a read is under way
  size INTEGER,
  mtime INTEGER,                   -- ns
  offset INTEGER NOT NULL DEFAULT 0,  -- checkpoint: bytes consumed
  line INTEGER NOT NULL DEFAULT 0,    -- lines before offset
  tail_hash INTEGER,               -- hash of the last <= 4 KiB before offset
  gen INTEGER NOT NULL DEFAULT 0,  -- bumped when the file is read again
  rereading INTEGER NOT NULL DEFAULT 0,
  missing INTEGER NOT NULL DEFAULT 0  -- the file is gone
);

-- Every distinct event id seen: where it was first found, who took it, and
-- its line, so a stream can be re-applied even after a sync tool rewrote
-- the log without it.  status: 0 applied, 1 pending (no applier), 2 failed.
-- raw is the line's bytes, or a zstd frame of them (packed with the
-- dictionary of jsync_dicts its frame names, if any): read it through
-- jsync_line(raw) (core/jsync-store-lines.c).
CREATE TABLE IF NOT EXISTS jsync_events (
  id TEXT NOT NULL UNIQUE,
  ts INTEGER NOT NULL,
  device TEXT NOT NULL,
  type TEXT NOT NULL,
  applier TEXT,
  stream TEXT,
  status INTEGER NOT NULL,
  source INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  length INTEGER NOT NULL,
  line INTEGER NOT NULL,
  hash INTEGER NOT NULL,           -- of the line's bytes
  gen INTEGER NOT NULL DEFAULT 0,  -- the source's gen when last seen there
  raw BLOB NOT NULL                -- the line, maybe packed
);
CREATE INDEX IF NOT EXISTS jsync_events_by_stream
  ON jsync_events (applier, stream, ts, device, id);
CREATE INDEX IF NOT EXISTS jsync_events_by_source
  ON jsync_events (source, gen);
-- Queries for unapplied events must say "status <> 0" literally (beside
-- "status = 1"): SQLite uses a partial index only when the WHERE clause
-- implies the index's own; without it an idle sync scans every event.
CREATE INDEX IF NOT EXISTS jsync_events_unapplied
  ON jsync_events (status, ts, device, id) WHERE status <> 0;

-- The zstd dictionaries lines are packed with, trained on the folder's
-- own lines; id is the dictionary id its frames name.  Never changed.
CREATE TABLE IF NOT EXISTS jsync_dicts (
  id INTEGER PRIMARY KEY,
  dict BLOB NOT NULL
);

-- Lines that did not become events, and events that failed: kept whole
-- (or their first 4 KiB when over max-line-bytes).
CREATE TABLE IF NOT EXISTS jsync_failed (
  id INTEGER PRIMARY KEY,
  source INTEGER NOT NULL,
  file TEXT NOT NULL,
  line INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  length INTEGER NOT NULL,
  event_id TEXT,
  message TEXT NOT NULL,
  raw BLOB,
  truncated INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jsync_failed_by_source ON jsync_failed (source, offset);

-- Appliers that have tables in this cache.
CREATE TABLE IF NOT EXISTS jsync_appliers (
  name TEXT PRIMARY KEY,
  schema_version INTEGER NOT NULL,
  version TEXT
) WITHOUT ROWID;

-- Events whose effects the cache keeps but whose file no longer holds them.
CREATE TABLE IF NOT EXISTS jsync_lost (
  file TEXT NOT NULL,
  id TEXT NOT NULL,
  PRIMARY KEY (file, id)
) WITHOUT ROWID;

-- The folders of the data folder as a scan last listed them (issue 12): a
-- folder whose identity, mtime and ctime are those recorded, and whose
-- ctime was older than its listing by more than SCAN_FOLDER_MARGIN_NS
-- (core/jsync-scan.c), is not listed again; its entries are taken from
-- here, every log among them still looked at.  Added after version 2: a
-- cache made before gains the table at its first write.
CREATE TABLE IF NOT EXISTS jsync_folders (
  path TEXT PRIMARY KEY,           -- relative to the data folder, '' for it
  dev INTEGER NOT NULL,
  ino INTEGER NOT NULL,
  mtime INTEGER NOT NULL,          -- ns
  ctime INTEGER NOT NULL,          -- ns
  listed INTEGER NOT NULL,         -- ns of the clock: when the scan began
  entries BLOB NOT NULL            -- the names of its logs and folders,
                                   -- each ending in NUL
);
