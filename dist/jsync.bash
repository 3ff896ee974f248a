# bash completion for jsync: commands, options (each command's own after
# it), the logs of the data folder for `append` and `recover --to`, the
# full-text tables for `search --table`.  tests/test-completion.c checks it against
# `jsync --help`.
_jsync_commands="sync rebuild status plugins dump search verify failed append
watch recover"
_jsync_global_options="--config --data-dir --db --plugins-dir --batch-size
--strict --json --quiet -q --verbose -v --version --help -h"

# The options of one command besides the global ones.
_jsync_command_options ()
{
  case $1 in
    rebuild) echo "--keep-previous" ;;
    search) echo "--limit --table --raw" ;;
    failed) echo "--retry" ;;
    append) echo "--fsync" ;;
    recover) echo "--dry-run --to" ;;
  esac
}

# The options on the line that say where the data, cache, keyfile and
# plugins are, for the jsync that completion runs.
_jsync_location_args ()
{
  local i word
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i]}
    case $word in
      --config | --data-dir | --db | --plugins-dir)
        [[ ${COMP_WORDS[i + 1]} == = ]] && ((i++))
        printf '%s\n%s\n' "$word" "${COMP_WORDS[i + 1]}"
        ((i++))
        ;;
      --config=* | --data-dir=* | --db=* | --plugins-dir=*)
        printf '%s\n' "$word"
        ;;
    esac
  done
}

# Candidates from a list (one a line) that start with the word at the
# cursor.
_jsync_reply ()
{
  local candidate
  COMPREPLY=()
  while IFS= read -r candidate; do
    [[ -n $candidate && $candidate == "$2"* ]] && COMPREPLY+=("$candidate")
  done <<<"$1"
}

# The logs sync reads (*.jsonl, not in hidden folders), relative to the
# data folder.
_jsync_logs ()
{
  local dir=. i word
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i]}
    case $word in
      --data-dir) [[ ${COMP_WORDS[i + 1]} == = ]] && ((i++)); dir=${COMP_WORDS[i + 1]} ;;
      --data-dir=*) dir=${word#--data-dir=} ;;
    esac
  done
  dir=${dir/#\~/$HOME}
  (cd -- "$dir" 2>/dev/null \
     && find . -name '.?*' -prune -o -type f -name '*.jsonl' -print 2>/dev/null \
        | sed 's|^\./||' | LC_ALL=C sort)
}

# The FTS tables of the appliers, from `jsync plugins --json` (each
# plugin's "search" array).  It opens the cache to write, so it may wait
# for the lock of a long sync elsewhere: not for more than 3 s (or
# $JSYNC_COMPLETION_TIMEOUT).
_jsync_tables ()
{
  local -a args run=("${COMP_WORDS[0]}")
  mapfile -t args < <(_jsync_location_args)
  type -P timeout >/dev/null && run=(timeout "${JSYNC_COMPLETION_TIMEOUT:-3}" "${run[@]}")
  "${run[@]}" "${args[@]}" --quiet plugins --json 2>/dev/null \
    | sed -n '/"search": \[/,/\]/s/^ *"\([^"]*\)",\{0,1\}$/\1/p'
}

_jsync ()
{
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  local command= n_args=0 i word

  # `--table=x` comes in as "--table" "=" "x" (COMP_WORDBREAKS has "=").
  if [[ $cur == = ]]; then
    cur=
  elif [[ $prev == = && COMP_CWORD -ge 2 ]]; then
    prev=${COMP_WORDS[COMP_CWORD - 2]}
  fi
  case $prev in
    --data-dir | --plugins-dir)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -d -- "$cur")
      return
      ;;
    --config | --db)
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      return
      ;;
    --table)
      _jsync_reply "$(_jsync_tables)" "$cur"
      return
      ;;
    --to)
      _jsync_reply "$(_jsync_logs)" "$cur"
      return
      ;;
    --batch-size | --limit)
      COMPREPLY=()
      return
      ;;
  esac

  # The command, and how many of its arguments come before the cursor.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i]}
    case $word in
      --config | --data-dir | --db | --plugins-dir | --batch-size | --limit \
        | --table | --to)
        [[ ${COMP_WORDS[i + 1]} == = ]] && ((i++))
        ((i++))
        ;;
      -*) ;;
      *)
        if [[ -z $command ]]; then
          command=$word
        else
          ((n_args++))
        fi
        ;;
    esac
  done

  if [[ $cur == -* ]]; then
    _jsync_reply "$(printf '%s\n' $_jsync_global_options \
                      $(_jsync_command_options "$command"))" "$cur"
  elif [[ -z $command ]]; then
    _jsync_reply "$(printf '%s\n' $_jsync_commands)" "$cur"
  elif [[ $command == append && $n_args == 0 ]]; then
    _jsync_reply "$(_jsync_logs)" "$cur"
  else
    COMPREPLY=()
  fi
}

complete -F _jsync jsync
