/* nullsymbol.c: exports the descriptor symbol with the value NULL (an
 * absolute ELF symbol at address 0), so g_module_symbol() succeeds and
 * hands back NULL.  The registry must treat that as no descriptor rather
 * than dereference it.  Built only where the compiler targets ELF. */
#include <jsync/jsync-plugin.h>

__asm__ (".globl " JSYNC_APPLIER_SYMBOL "\n"
         "\t.set " JSYNC_APPLIER_SYMBOL ", 0\n");
