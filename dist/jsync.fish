# fish completion for jsync: commands, options (each command's own after
# it), the logs of the data folder for `append` and `recover --to`, the
# full-text tables for `search --table`.  tests/test-completion.c checks it against
# `jsync --help`.
set -l commands sync rebuild status plugins dump search verify failed append watch recover

# The options on the line that say where things are, for the jsync run here.
function __jsync_location_args
    set -l words (commandline -opc)
    set -e words[1]
    while set -q words[1]
        switch $words[1]
            case --config --data-dir --db --plugins-dir
                set -q words[2]; and printf '%s\n' $words[1] $words[2]
                set -e words[1]
            case '--config=*' '--data-dir=*' '--db=*' '--plugins-dir=*'
                printf '%s\n' $words[1]
        end
        set -e words[1]
    end
end

# The FTS tables of the appliers, from `jsync plugins --json`.  It opens
# the cache to write, so it may wait for the lock of a long sync
# elsewhere: not for more than 3 s (or $JSYNC_COMPLETION_TIMEOUT).
function __jsync_tables
    set -l run (commandline -opc)[1]
    set -q JSYNC_COMPLETION_TIMEOUT; and set -l limit $JSYNC_COMPLETION_TIMEOUT; or set -l limit 3
    command -q timeout; and set run timeout $limit $run
    $run (__jsync_location_args) --quiet plugins --json 2>/dev/null \
        | sed -n '/"search": \[/,/\]/s/^ *"\([^"]*\)",\{0,1\}$/\1/p'
end

# The logs sync reads (*.jsonl, not in hidden folders), relative to the
# data folder.
function __jsync_logs
    set -l dir .
    set -l args (__jsync_location_args)
    while set -q args[1]
        switch $args[1]
            case --data-dir
                set dir $args[2]
                set -e args[1]
            case '--data-dir=*'
                set dir (string replace -- --data-dir= '' $args[1])
        end
        set -e args[1]
    end
    test -d $dir; or return
    find $dir -name '.?*' -prune -o -type f -name '*.jsonl' -print 2>/dev/null \
        | string replace -- "$dir/" ''
end

# The first argument of `append` (its log) is being written.
function __jsync_append_log
    set -l words (commandline -opc)
    contains -- append $words; or return 1
    set -l after 0
    for word in $words[2..-1]
        if test $after = 1
            string match -q -- '-*' $word; or return 1
        else if test $word = append
            set after 1
        end
    end
    test $after = 1
end

complete -c jsync -f
complete -c jsync -n "not __fish_seen_subcommand_from $commands" -a sync -d 'bring the cache up to date with the logs (default)'
complete -c jsync -n "not __fish_seen_subcommand_from $commands" -a rebuild -d 'build a new cache from every log and swap it in'
complete -c jsync -n "not __fish_seen_subcommand_from $commands" -a status -d 'files, checkpoints, counts; failed, pending and lost events'
complete -c jsync -n "not __fish_seen_subcommand_from $commands" -a plugins -d 'the appliers found, their prefixes, and load failures'
complete -c jsync -n "not __fish_seen_subcommand_from $commands" -a dump -d 'every applier table as canonical JSON'
complete -c jsync -n "not __fish_seen_subcommand_from $commands" -a search -d 'full-text search, every word required, best first'
complete -c jsync -n "not __fish_seen_subcommand_from $commands" -a verify -d 'rebuild into a temporary file and compare it with the cache'
complete -c jsync -n "not __fish_seen_subcommand_from $commands" -a failed -d 'lines and events that failed; --retry applies them again'
complete -c jsync -n "not __fish_seen_subcommand_from $commands" -a append -d 'add an event (JSON or stdin) to a log, then sync'
complete -c jsync -n "not __fish_seen_subcommand_from $commands" -a watch -d 'follow the logs, sync after each change'
complete -c jsync -n "not __fish_seen_subcommand_from $commands" -a recover -d 'write lost events back into their logs, then sync'

complete -c jsync -l config -r -F -d 'Keyfile to read'
complete -c jsync -l data-dir -r -a '(__fish_complete_directories)' -d 'Folder of JSONL logs'
complete -c jsync -l db -r -F -d 'Cache file'
complete -c jsync -l plugins-dir -r -a '(__fish_complete_directories)' -d 'Folder searched first for appliers'
complete -c jsync -l batch-size -x -d 'Events per transaction'
complete -c jsync -l strict -d 'Stop at the first failed event'
complete -c jsync -l json -d 'Print one JSON object on stdout'
complete -c jsync -s q -l quiet -d 'Print only warnings and errors'
complete -c jsync -s v -l verbose -d 'More messages (twice: debug)'
complete -c jsync -l version -d 'Print the version'
complete -c jsync -s h -l help -d 'Show the options'
complete -c jsync -n '__fish_seen_subcommand_from rebuild' -l keep-previous -d 'Keep the replaced cache as DB.previous'
complete -c jsync -n '__fish_seen_subcommand_from search' -l limit -x -d 'At most N results'
complete -c jsync -n '__fish_seen_subcommand_from search' -l table -x -a '(__jsync_tables)' -d 'Only this FTS table'
complete -c jsync -n '__fish_seen_subcommand_from search' -l raw -d 'Pass QUERY to FTS5 as it is'
complete -c jsync -n '__fish_seen_subcommand_from failed' -l retry -d 'Apply the failed events again'
complete -c jsync -n '__fish_seen_subcommand_from append' -l fsync -d 'Make the event durable before the sync'
complete -c jsync -n '__fish_seen_subcommand_from recover' -l dry-run -d 'List what would be written where'
complete -c jsync -n '__fish_seen_subcommand_from recover' -l to -x -a '(__jsync_logs)' -d 'Write to this log instead'
complete -c jsync -n __jsync_append_log -a '(__jsync_logs)' -d log
