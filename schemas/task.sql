-- task.sql: the tables of the bundled `task` applier (schema 1).
--
-- Columns as docs/format.md "The `task` applier" gives them: Nexus's names,
-- times in integer ms.  Like the other appliers' schemas it declares no
-- foreign keys and no UNIQUE(workspaceId, name): the applier carries out
-- the cascades itself (a child may come before its parent in the event
-- order), and two projects may share a name.  The DEFAULT clauses are
-- Nexus's; the applier writes every column.  Idempotent.

CREATE TABLE IF NOT EXISTS projects (
  id TEXT PRIMARY KEY NOT NULL,
  workspaceId TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT,
  status TEXT NOT NULL DEFAULT 'active',
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  metadataJson TEXT
);

CREATE TABLE IF NOT EXISTS tasks (
  id TEXT PRIMARY KEY NOT NULL,
  projectId TEXT NOT NULL,
  workspaceId TEXT NOT NULL,
  parentTaskId TEXT,
  title TEXT NOT NULL,
  description TEXT,
  status TEXT NOT NULL DEFAULT 'todo',
  priority TEXT DEFAULT 'medium',
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  completedAt INTEGER,
  dueDate INTEGER,
  assignee TEXT,
  tagsJson TEXT,
  metadataJson TEXT
);

CREATE TABLE IF NOT EXISTS task_dependencies (
  taskId TEXT NOT NULL,
  dependsOnTaskId TEXT NOT NULL,
  created INTEGER NOT NULL,
  PRIMARY KEY (taskId, dependsOnTaskId)
);

CREATE TABLE IF NOT EXISTS task_note_links (
  taskId TEXT NOT NULL,
  notePath TEXT NOT NULL,
  linkType TEXT NOT NULL DEFAULT 'reference',
  created INTEGER NOT NULL,
  PRIMARY KEY (taskId, notePath)
);

-- The workspaceId each project_created or task_created carried, as written
-- (kind 'project' or 'task'): the projects and tasks columns hold it
-- resolved against the workspaces table as it stands at the end of each
-- batch (task.c, task_end_batch).  One row per project and task.
CREATE TABLE IF NOT EXISTS task_workspace_refs (
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  raw TEXT NOT NULL,
  PRIMARY KEY (kind, id)
);

-- Nexus's indexes (its lookups), and what the cascades use.
CREATE INDEX IF NOT EXISTS idx_projects_workspace ON projects (workspaceId);
CREATE INDEX IF NOT EXISTS idx_projects_status ON projects (status);
CREATE INDEX IF NOT EXISTS idx_projects_updated ON projects (updated);
CREATE INDEX IF NOT EXISTS idx_tasks_project ON tasks (projectId);
CREATE INDEX IF NOT EXISTS idx_tasks_workspace ON tasks (workspaceId);
CREATE INDEX IF NOT EXISTS idx_tasks_parent ON tasks (parentTaskId);
CREATE INDEX IF NOT EXISTS idx_tasks_status ON tasks (status);
CREATE INDEX IF NOT EXISTS idx_tasks_priority ON tasks (priority);
CREATE INDEX IF NOT EXISTS idx_tasks_updated ON tasks (updated);
CREATE INDEX IF NOT EXISTS idx_tasks_due ON tasks (dueDate);
CREATE INDEX IF NOT EXISTS idx_tasks_project_status ON tasks (projectId, status);
CREATE INDEX IF NOT EXISTS idx_task_deps_task ON task_dependencies (taskId);
CREATE INDEX IF NOT EXISTS idx_task_deps_depends
  ON task_dependencies (dependsOnTaskId);
CREATE INDEX IF NOT EXISTS idx_task_links_note ON task_note_links (notePath);
