/* tsan-glib.c: GLib's locks and queues as ThreadSanitizer sees them.
 *
 * On Linux, GLib (2.74 as Debian builds it) implements GMutex and GCond
 * with futexes and atomic operations inside libglib, which is not built
 * with -fsanitize=thread: ThreadSanitizer sees neither, so every hand-over
 * through them (a GAsyncQueue between jsync's scan or prefetch thread and
 * the run's thread, a counter under a GMutex) looks like a data race in
 * jsync's own code.  A suppression would have to name jsync's frames (or
 * the whole of libglib, which every GLib thread has on its stack) and
 * would hide real races with the false ones.
 *
 * So this library, preloaded (LD_PRELOAD) into the test programs and the
 * programs they run in a -Db_sanitize=thread build (tests/meson.build sets
 * it), wraps the GLib calls that order memory between threads and tells
 * ThreadSanitizer what they do, with its annotations (__tsan_acquire,
 * __tsan_release: the happens-before edges a lock or a queue makes):
 *
 * - g_mutex_lock / trylock / unlock: acquire after taking, release before
 *   giving back;
 * - g_cond_wait / wait_until: the mutex is given back and taken again;
 * - g_async_queue_push* release the queue, g_async_queue_*pop* acquire it
 *   (every push before a pop happens before it: a little more order than
 *   the queue gives, never less).  What the real calls do inside is not
 *   watched: the queue's own list node is allocated inside a push, after
 *   its release, and freed inside the pop that takes it, before its
 *   acquire (with G_SLICE=always-malloc these are malloc and free, which
 *   the sanitizer sees);
 * - g_once_init_leave releases the location, g_once_init_enter acquires it
 *   (its inline fast path is an atomic load of the location in the
 *   caller's instrumented code, which the release pairs with).
 *
 * GThread, GRWLock, GRecMutex and GPrivate are pthread calls, which
 * ThreadSanitizer intercepts itself.  The library is built without the
 * sanitizer (its own code is just the call and the annotation) and finds
 * the annotations in the sanitizer's runtime, which the instrumented
 * program loads.
 */
#include <dlfcn.h>

#include <glib.h>

void __tsan_acquire (void *addr) __attribute__ ((weak));
void __tsan_release (void *addr) __attribute__ ((weak));
void __tsan_ignore_thread_begin (void) __attribute__ ((weak));
void __tsan_ignore_thread_end (void) __attribute__ ((weak));

/* Every function here is exported to take GLib's place. */
#define TSAN_GLIB_EXPORT __attribute__ ((visibility ("default")))

static void
tsan_acquire (const volatile void *addr)
{
  if (__tsan_acquire != NULL)
    __tsan_acquire ((void *) addr);
}

static void
tsan_release (const volatile void *addr)
{
  if (__tsan_release != NULL)
    __tsan_release ((void *) addr);
}

/* The memory accesses of this thread (its mallocs and frees among them)
 * are not watched between these two. */
static void
tsan_ignore_begin (void)
{
  if (__tsan_ignore_thread_begin != NULL)
    __tsan_ignore_thread_begin ();
}

static void
tsan_ignore_end (void)
{
  if (__tsan_ignore_thread_end != NULL)
    __tsan_ignore_thread_end ();
}

/* GLib's own function `name##_fn` (of the type GLib declares it with),
 * looked up once (relaxed atomics: every thread that looks it up finds the
 * same address). */
#define REAL(name)                                                           \
  static __typeof__ (name) *real_##name;                                     \
  __typeof__ (name) *name##_fn = __atomic_load_n (&real_##name,               \
                                                  __ATOMIC_RELAXED);         \
  if (name##_fn == NULL)                                                     \
    {                                                                        \
      name##_fn = (__typeof__ (name) *) dlsym (RTLD_NEXT, #name);            \
      if (name##_fn == NULL)                                                 \
        g_error ("tsan-glib: %s: %s", #name, dlerror ());                   \
      __atomic_store_n (&real_##name, name##_fn, __ATOMIC_RELAXED);          \
    }

/* --- GMutex, GCond --------------------------------------------------------- */

TSAN_GLIB_EXPORT void
g_mutex_lock (GMutex *mutex)
{
  REAL (g_mutex_lock);

  g_mutex_lock_fn (mutex);
  tsan_acquire (mutex);
}

TSAN_GLIB_EXPORT gboolean
g_mutex_trylock (GMutex *mutex)
{
  REAL (g_mutex_trylock);
  gboolean taken = g_mutex_trylock_fn (mutex);

  if (taken)
    tsan_acquire (mutex);
  return taken;
}

TSAN_GLIB_EXPORT void
g_mutex_unlock (GMutex *mutex)
{
  REAL (g_mutex_unlock);

  tsan_release (mutex);
  g_mutex_unlock_fn (mutex);
}

TSAN_GLIB_EXPORT void
g_cond_wait (GCond *cond, GMutex *mutex)
{
  REAL (g_cond_wait);

  tsan_release (mutex);
  g_cond_wait_fn (cond, mutex);
  tsan_acquire (mutex);
}

TSAN_GLIB_EXPORT gboolean
g_cond_wait_until (GCond *cond, GMutex *mutex, gint64 end_time)
{
  REAL (g_cond_wait_until);
  gboolean signalled;

  tsan_release (mutex);
  signalled = g_cond_wait_until_fn (cond, mutex, end_time);
  tsan_acquire (mutex);
  return signalled;
}

/* --- GAsyncQueue ------------------------------------------------------------ */

/* The wrappers differ only in the call: each is its own exported symbol,
 * so a macro makes them. */

/* A push: the queue released, then GLib's push (its allocations among
 * them) unwatched. */
#define QUEUE_PUSH(name, params, args)                                       \
  TSAN_GLIB_EXPORT void                                                      \
  name params                                                                \
  {                                                                          \
    REAL (name);                                                             \
                                                                             \
    tsan_release (queue);                                                    \
    tsan_ignore_begin ();                                                    \
    name##_fn args;                                                          \
    tsan_ignore_end ();                                                      \
  }

/* A pop: GLib's pop unwatched, then the queue acquired. */
#define QUEUE_POP(name, params, args)                                        \
  TSAN_GLIB_EXPORT gpointer                                                  \
  name params                                                                \
  {                                                                          \
    REAL (name);                                                             \
    gpointer data;                                                           \
                                                                             \
    tsan_ignore_begin ();                                                    \
    data = name##_fn args;                                                   \
    tsan_ignore_end ();                                                      \
    tsan_acquire (queue);                                                    \
    return data;                                                             \
  }

QUEUE_PUSH (g_async_queue_push, (GAsyncQueue *queue, gpointer data),
            (queue, data))
QUEUE_PUSH (g_async_queue_push_unlocked, (GAsyncQueue *queue, gpointer data),
            (queue, data))
QUEUE_PUSH (g_async_queue_push_front, (GAsyncQueue *queue, gpointer data),
            (queue, data))
QUEUE_PUSH (g_async_queue_push_sorted,
            (GAsyncQueue *queue, gpointer data, GCompareDataFunc func,
             gpointer user_data),
            (queue, data, func, user_data))

QUEUE_POP (g_async_queue_pop, (GAsyncQueue *queue), (queue))
QUEUE_POP (g_async_queue_pop_unlocked, (GAsyncQueue *queue), (queue))
QUEUE_POP (g_async_queue_try_pop, (GAsyncQueue *queue), (queue))
QUEUE_POP (g_async_queue_try_pop_unlocked, (GAsyncQueue *queue), (queue))
QUEUE_POP (g_async_queue_timeout_pop, (GAsyncQueue *queue, guint64 timeout),
           (queue, timeout))
QUEUE_POP (g_async_queue_timeout_pop_unlocked,
           (GAsyncQueue *queue, guint64 timeout), (queue, timeout))

/* --- GOnce ------------------------------------------------------------------ */

TSAN_GLIB_EXPORT gboolean
(g_once_init_enter) (volatile void *location)
{
  REAL (g_once_init_enter);
  gboolean first = g_once_init_enter_fn (location);

  if (!first)
    tsan_acquire (location);
  return first;
}

TSAN_GLIB_EXPORT void
(g_once_init_leave) (volatile void *location, gsize result)
{
  REAL (g_once_init_leave);

  tsan_release (location);
  g_once_init_leave_fn (location, result);
}
