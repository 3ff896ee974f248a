/* nosymbol.c: a valid shared module that exports no descriptor at all
 * (its only function is hidden).  The registry must record "no
 * descriptor". */
#include <jsync/jsync-plugin.h>

int nosymbol_answer (void);

int
nosymbol_answer (void)
{
  return 42;
}
