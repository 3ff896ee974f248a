/* fuzz-common.h: what the fuzz targets share: the check that makes a
 * finding, the log policy, a scratch folder.  A target defines FUZZ_NAME
 * (its program's name, for the messages) before it includes this. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#include <glib.h>
#include <glib/gstdio.h>

/* The entry points libFuzzer (or replay.c) calls. */
int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

/* A broken contract is a finding: say where, and abort. */
#define CHECK(condition)                                                  \
  G_STMT_START                                                            \
  {                                                                       \
    if (!(condition))                                                     \
      {                                                                   \
        fprintf (stderr, "%s: %s:%d: check failed: %s\n", FUZZ_NAME,      \
                 __FILE__, __LINE__, #condition);                         \
        abort ();                                                         \
      }                                                                   \
  }                                                                       \
  G_STMT_END

static char *fuzz_scratch_dir;
static char *fuzz_scratch_file;

static inline void
fuzz_discard_log (const char *domain, GLogLevelFlags level,
                  const char *message, gpointer user_data)
{
}

/* Warnings are expected from hostile input (and not worth printing); a
 * critical is a finding. */
static inline void
fuzz_set_log_policy (void)
{
  g_log_set_default_handler (fuzz_discard_log, NULL);
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);
}

static inline void
fuzz_scratch_remove (void)
{
  g_unlink (fuzz_scratch_file);
  g_rmdir (fuzz_scratch_dir);
}

/* The path of the one file `name` a target writes, in a new folder in
 * memory when /dev/shm is there (else in the temporary folder); both are
 * removed at exit.  (transfer none) */
static inline const char *
fuzz_scratch_init (const char *name)
{
  const char *base = g_file_test ("/dev/shm", G_FILE_TEST_IS_DIR)
                       ? "/dev/shm" : g_get_tmp_dir ();
  g_autofree char *template = g_build_filename (base, "jsync-fuzz-XXXXXX",
                                                NULL);

  fuzz_scratch_dir = g_mkdtemp (g_steal_pointer (&template));
  CHECK (fuzz_scratch_dir != NULL);
  fuzz_scratch_file = g_build_filename (fuzz_scratch_dir, name, NULL);
  atexit (fuzz_scratch_remove);
  return fuzz_scratch_file;
}

/* The start of a target that writes one scratch file `name`: the log
 * policy, and the file's path (as fuzz_scratch_init).  (transfer none) */
static inline const char *
fuzz_init_scratch (const char *name)
{
  fuzz_set_log_policy ();
  return fuzz_scratch_init (name);
}

#endif /* FUZZ_COMMON_H */
