# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_nettool_global_optspecs
    string join \n h/help V/version
end

function __fish_nettool_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_nettool_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_nettool_using_subcommand
    set -l cmd (__fish_nettool_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c nettool -n "__fish_nettool_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nettool -n "__fish_nettool_needs_command" -s V -l version -d 'Print version'
complete -c nettool -n "__fish_nettool_needs_command" -f -a "sockstat" -d 'List sockets and their TCP states (like netstat and ss)'
complete -c nettool -n "__fish_nettool_needs_command" -f -a "arp" -d 'Send ARP requests and show replies (like arping), sweep a subnet (like arp-scan), or show the neighbour table (like ip neigh)'
complete -c nettool -n "__fish_nettool_needs_command" -f -a "tftp" -d 'TFTP client and server: get, put and serve files (RFC 1350 with blksize, tsize, timeout and windowsize)'
complete -c nettool -n "__fish_nettool_needs_command" -f -a "probe" -d 'Probe how peers answer TCP: open, RST, ICMP, silence; port scans, watching until stopped, where the SYN dies (--trace); keepalive, half and abortive close'
complete -c nettool -n "__fish_nettool_needs_command" -f -a "generate" -d 'Write shell completions and man pages (for packagers and the repo)'
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -s N -l netns -d 'The sockets of another network namespace: a name under /run/netns, a path to a netns file, or a PID whose namespace to use (entering another namespace needs root)' -r
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -l interval -d 'With -s: read the kernel\'s counters twice, SECS apart, and show the deltas and rates (as nstat). With --watch: SECS between two dumps (default 0.5). With --diagnose: SECS between its two readings (default 1)' -r
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -l state -d 'Only these states (comma-separated or repeated): established, syn-sent, syn-recv, fin-wait-1, fin-wait-2, time-wait, close, close-wait, last-ack, listen, closing; groups: all, connected, synchronized, bucket, big. Overrides -l/-a' -r
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -l sport -d 'Local port: PORT, LO-HI or a service name' -r
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -l dport -d 'Remote port: PORT, LO-HI or a service name' -r
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -l src -d 'Local address: ADDR, CIDR, ADDR:PORT, [IPV6]:PORT or :PORT' -r
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -l dst -d 'Remote address: ADDR, CIDR, ADDR:PORT, [IPV6]:PORT or :PORT' -r
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -l textfile -d 'Write the metrics to DIR/NAME.prom for node_exporter\'s textfile collector, atomically (temp file, fsync, rename), with nettool_run_success and nettool_last_run_timestamp_seconds; nothing else goes to stdout unless --prometheus is given too' -r -F
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -l source -d 'Where rows come from' -r -f -a "auto\t'netlink sock_diag, falling back to /proc per table when the kernel lacks a handler (raw sockets on most kernels) or when PROC_ROOT points elsewhere than /proc'
netlink\t'netlink sock_diag only (raw sockets still come from /proc when the kernel has no raw_diag; a note says so)'
proc\t'The /proc/net text tables only'"
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -l dns-timeout -d 'Total time allowed for --dns lookups, in seconds' -r
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -l count -d 'With --watch: stop after N events' -r
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -l duration -d 'With --watch: stop after SECS seconds' -r
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -s t -l tcp -d 'TCP sockets'
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -s u -l udp -d 'UDP sockets'
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -s w -l raw -d 'Raw sockets'
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -s x -l unix -d 'UNIX domain sockets'
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -s 4 -l ipv4 -d 'IPv4 only'
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -s 6 -l ipv6 -d 'IPv6 only'
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -s l -l listening -d 'Listening sockets only (TCP LISTEN, unconnected UDP/raw, accepting UNIX)'
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -s a -l all -d 'All sockets, listening and not (the default hides listeners, as netstat)'
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -s n -l numeric -d 'Numeric addresses and ports: no /etc/hosts or /etc/services names'
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -s p -l processes -d 'Show the owning process (PID/Program); all of them need root'
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -s e -l extended -d 'Extended columns: user, inode and the pending TCP timer (what ss -o and netstat -o show: keepalive, retransmit, TIME_WAIT, zero-window probe, with its expiry and retries)'
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -s i -l info -d 'TCP internals per socket (the kernel\'s TCP_INFO and congestion control): rtt, rto, cwnd, ssthresh, mss, retransmits, bytes, rates, limited times; a second line per socket, a tcp_info object in JSON. Needs netlink (not --source proc)'
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -s m -l memory -d 'Socket memory per inet socket (SKMEMINFO), in bytes: receive and send buffers, what is queued and allocated, backlog, drops; a "skmem" line per socket, a memory object in JSON. Needs netlink'
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -s K -l kill -d 'Close the TCP and UDP sockets that match, in this network namespace or the one -N names (SOCK_DESTROY: a connected TCP peer gets a RST), and show them. It closes exactly what the same command without -K lists. Needs CAP_NET_ADMIN and a filter: --state, --sport, --dport, --src or --dst'
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -l all-netns -d 'Every network namespace on the host, each row labelled with its namespace (name, else a process in it and its container); without root only your own, and a note on how many were left out'
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -s s -l summary -d 'Summary: counts per protocol and TCP state, the kernel\'s protocol counters, kernel figures, diagnosis'
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -l diagnose -d 'Say what is wrong, most severe first: CLOSE_WAIT leaks, accept queue overflows, SYN floods, TIME_WAIT pressure, retransmissions, peers or programs not reading, UDP drops, orphans, TCP memory; who (process, port, peer), the numbers and what to do. Reads twice, --interval apart (default 1 s). Exit 1 when something was found'
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -l json -d 'JSON output (schema nettool.sockstat/1, see README)'
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -l prometheus -d 'Print the results as Prometheus metrics (text exposition format) instead of the usual output; see README "Fleets"'
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -l dns -d 'Resolve remote addresses through DNS (never done otherwise); bounded by --dns-timeout. Not with --json, whose addresses are always numeric'
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -l watch -d 'Report sockets that appear, change TCP state or go away (TCP and UDP), as it happens, until Ctrl-C, --count or --duration: on a terminal a live table redrawn in place (q quits), piped (or with --lines, --json) one line per event'
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -l lines -d 'With --watch on a terminal: print one line per event, as when piped, instead of the live view (a table redrawn in place; q or Ctrl-C quits)'
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nettool -n "__fish_nettool_using_subcommand sockstat" -s V -l version -d 'Print version'
complete -c nettool -n "__fish_nettool_using_subcommand arp" -s I -l interface -d 'Interface to use (default: the one the route to TARGET uses); neighbour table: only this interface\'s entries; --watch: repeat to watch several (default: the default route\'s)' -r
complete -c nettool -n "__fish_nettool_using_subcommand arp" -s c -l count -d 'Stop after sending COUNT requests (--watch: after COUNT events)' -r
complete -c nettool -n "__fish_nettool_using_subcommand arp" -s w -l deadline -l duration -d 'Stop after SECS seconds, whatever the count' -r
complete -c nettool -n "__fish_nettool_using_subcommand arp" -s i -l interval -d 'Seconds between requests (fractions allowed, default 1); the interface is -I' -r
complete -c nettool -n "__fish_nettool_using_subcommand arp" -s s -l source -d 'Source address, of TARGET\'s family (must be on the interface; ignored with -D, which asks from 0.0.0.0 or ::)' -r
complete -c nettool -n "__fish_nettool_using_subcommand arp" -l rate -d 'Sweep: requests per second' -r
complete -c nettool -n "__fish_nettool_using_subcommand arp" -l retries -d 'Sweep: further rounds for hosts that did not answer, 0-100 (extra rounds, unlike arp-scan\'s --retry, which counts all; --localnet -6: further echo requests to all nodes)' -r
complete -c nettool -n "__fish_nettool_using_subcommand arp" -l timeout -d 'Sweep: seconds to wait for replies after each round' -r
complete -c nettool -n "__fish_nettool_using_subcommand arp" -l textfile -d 'Write the metrics to DIR/NAME.prom for node_exporter\'s textfile collector, atomically (temp file, fsync, rename), with nettool_run_success and nettool_last_run_timestamp_seconds; nothing else goes to stdout unless --prometheus is given too' -r -F
complete -c nettool -n "__fish_nettool_using_subcommand arp" -l db -d '--watch: the station database, read at start and written (atomically) at exit, so known stations are not new next time' -r -F
complete -c nettool -n "__fish_nettool_using_subcommand arp" -s f -l first -d 'Stop at the first reply'
complete -c nettool -n "__fish_nettool_using_subcommand arp" -s q -l quiet -d 'Quiet: no per-reply lines (--watch: no event lines), only the summary (and the exit status)'
complete -c nettool -n "__fish_nettool_using_subcommand arp" -s D -l dad -d 'Duplicate address detection: ask from 0.0.0.0 (IPv6: from ::, as RFC 4862); exit 0 if TARGET is free, 1 if in use, naming the holder'
complete -c nettool -n "__fish_nettool_using_subcommand arp" -s U -l unsolicited -d 'Unsolicited ARP: announce an address of ours (-s, else TARGET) so neighbours update their caches; for an IPv6 address, an unsolicited neighbour advertisement to ff02::1 with the override flag (and the router flag where this host forwards IPv6)'
complete -c nettool -n "__fish_nettool_using_subcommand arp" -s A -l answer -d 'Like -U, but the announcement is an ARP reply (oper 2) instead of a request (IPv4 only)'
complete -c nettool -n "__fish_nettool_using_subcommand arp" -s d -l strict -d 'Strict: exit 1 when a duplicate reply (a second MAC for TARGET), an invalid one or a rejected IPv6 advertisement was seen, even if TARGET answered'
complete -c nettool -n "__fish_nettool_using_subcommand arp" -l unicast -d 'After the first reply, send the follow-up requests unicast to the MAC that answered (iputils arping\'s way), not broadcast (IPv6: to the address itself, not its solicited-node group)'
complete -c nettool -n "__fish_nettool_using_subcommand arp" -s a -l cache -d 'Show the kernel\'s neighbour table, IPv4 and IPv6 (the default with no TARGET)'
complete -c nettool -n "__fish_nettool_using_subcommand arp" -s n -l numeric -d 'Neighbour table: numeric addresses, no names from /etc/hosts'
complete -c nettool -n "__fish_nettool_using_subcommand arp" -s 4 -l ipv4 -d 'Neighbour table: IPv4 (ARP) entries only'
complete -c nettool -n "__fish_nettool_using_subcommand arp" -s 6 -l ipv6 -d 'Neighbour table: IPv6 (NDP) entries only; with --localnet: find the link\'s IPv6 neighbours'
complete -c nettool -n "__fish_nettool_using_subcommand arp" -l localnet -d 'Sweep every IPv4 network on the interface; with -6, ask every IPv6 node on the link at once (an ICMPv6 echo request to ff02::1 from each of our addresses: hosts that ignore multicast echoes are not found)'
complete -c nettool -n "__fish_nettool_using_subcommand arp" -l json -d 'JSON output (neighbour table: an array of entries; --watch: a line per event; see --help)'
complete -c nettool -n "__fish_nettool_using_subcommand arp" -l prometheus -d 'Print the results as Prometheus metrics (text exposition format) instead of the usual output; see README "Fleets"'
complete -c nettool -n "__fish_nettool_using_subcommand arp" -l watch -d 'Watch the link passively (arpwatch\'s job, ARP and NDP): report new stations, changed MACs, flip-flops, spoofing, bogons, until Ctrl-C, -c or --duration'
complete -c nettool -n "__fish_nettool_using_subcommand arp" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nettool -n "__fish_nettool_using_subcommand arp" -s V -l version -d 'Print version'
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and not __fish_seen_subcommand_from get put serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and not __fish_seen_subcommand_from get put serve" -s V -l version -d 'Print version'
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and not __fish_seen_subcommand_from get put serve" -f -a "get" -d 'Download: get HOST FILE [LOCAL], get tftp://HOST[:PORT]/FILE [LOCAL], or get HOST FILE... --dir DIR'
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and not __fish_seen_subcommand_from get put serve" -f -a "put" -d 'Upload: put HOST LOCAL [REMOTE], put tftp://HOST[:PORT]/REMOTE LOCAL, or put HOST LOCAL... --dir DIR'
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and not __fish_seen_subcommand_from get put serve" -f -a "serve" -d 'Serve files: serve [DIR] [--listen ADDR:PORT]... (read-only unless --write)'
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from get" -l max-size -d 'Most bytes the server may make us write (default: the tsize it announces)' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from get" -l dir -d 'Download each FILE into DIR, under its last path component (several files in one run, one after another)' -r -F
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from get" -s m -l mode -d 'Transfer mode (octet: bytes as they are; netascii: CR LF line ends on the wire)' -r -f -a "octet\t''
netascii\t''"
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from get" -l blksize -d 'Block size to ask for, 8..65464 (RFC 2348; default: 512, asked of nobody)' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from get" -l windowsize -d 'Blocks per ACK to ask for, 1..65535 (RFC 7440)' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from get" -l timeout -d 'Retransmission timeout in seconds (fractions allowed; the server is asked for it rounded up, RFC 2349) [default: 1, not asked]' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from get" -l retries -d 'Retransmissions of one packet before giving up' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from get" -l dally -d 'After the last ACK, seconds to stay and re-ACK a repeated final block (the file is already complete and in place; 0 leaves at once, as RFC 1350 allows and other clients do; a server\'s retransmit timeout, 1 or more, for a full RFC 1350 dally)' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from get" -l busy-poll -d 'Poll the socket up to this many microseconds before sleeping, for a packet we answer at once (every block in lock-step, the end of a window); adaptive: it backs off when answers take longer. Saves a sleep and a wake-up per block. 0 never polls, and never naps through windows on a timer either' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from get" -l bind -d 'Local address of the client\'s socket (of the server\'s address family; default: any)' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from get" -l port-range -d 'Bind a local port in LO..HI for each transfer, never one outside (tftp-hpa\'s -R, for firewalls; default: the kernel picks)' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from get" -s f -l force -d 'Overwrite an existing local file'
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from get" -l keep-partial -d 'On failure keep what arrived as LOCAL.part instead of deleting it'
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from get" -l no-tsize -d 'Do not ask the server for the file size (tsize is asked by default)'
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from get" -l no-options -d 'Plain RFC 1350: ask for no options at all'
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from get" -s v -l verbose -d 'Trace every packet, one line each, on stderr'
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from get" -l json -d 'A JSON record of the transfer (with --dir: one line per file, then a summary line)'
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from get" -s h -l help -d 'Print help'
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from get" -s V -l version -d 'Print version'
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from put" -l dir -d 'Send each LOCAL as DIR/NAME on the server, NAME its file name (several files in one run; . for the server\'s own directory)' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from put" -s m -l mode -d 'Transfer mode (octet: bytes as they are; netascii: CR LF line ends on the wire)' -r -f -a "octet\t''
netascii\t''"
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from put" -l blksize -d 'Block size to ask for, 8..65464 (RFC 2348; default: 512, asked of nobody)' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from put" -l windowsize -d 'Blocks per ACK to ask for, 1..65535 (RFC 7440)' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from put" -l timeout -d 'Retransmission timeout in seconds (fractions allowed; the server is asked for it rounded up, RFC 2349) [default: 1, not asked]' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from put" -l retries -d 'Retransmissions of one packet before giving up' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from put" -l dally -d 'After the last ACK, seconds to stay and re-ACK a repeated final block (the file is already complete and in place; 0 leaves at once, as RFC 1350 allows and other clients do; a server\'s retransmit timeout, 1 or more, for a full RFC 1350 dally)' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from put" -l busy-poll -d 'Poll the socket up to this many microseconds before sleeping, for a packet we answer at once (every block in lock-step, the end of a window); adaptive: it backs off when answers take longer. Saves a sleep and a wake-up per block. 0 never polls, and never naps through windows on a timer either' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from put" -l bind -d 'Local address of the client\'s socket (of the server\'s address family; default: any)' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from put" -l port-range -d 'Bind a local port in LO..HI for each transfer, never one outside (tftp-hpa\'s -R, for firewalls; default: the kernel picks)' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from put" -l tsize -d 'Tell the server the size up front (tsize; octet mode, not stdin)'
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from put" -l no-options -d 'Plain RFC 1350: ask for no options at all'
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from put" -s v -l verbose -d 'Trace every packet, one line each, on stderr'
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from put" -l json -d 'A JSON record of the transfer (with --dir: one line per file, then a summary line)'
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from put" -s h -l help -d 'Print help'
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from put" -s V -l version -d 'Print version'
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from serve" -s l -l listen -d 'Address to listen on, ADDR:PORT or [IPV6]:PORT (a literal; port 69 when left out); repeat for several [default: [::]:69, IPv4 too]' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from serve" -l max-size -d 'Largest upload, in bytes (K, M, G suffixes: powers of 1024); a larger announced tsize is refused at once (ERROR 3)' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from serve" -s u -l user -d 'User to run as after binding, when started as root [default: the sudo user, else nobody]' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from serve" -l max-blksize -d 'Largest blksize granted, 8..65464 (a larger request is lowered to it)' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from serve" -l max-windowsize -d 'Largest windowsize granted, 1..65535 (a larger request is lowered to it)' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from serve" -l timeout -d 'Retransmission timeout in seconds, doubling per retry (a client\'s timeout option wins)' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from serve" -l retries -d 'Retransmissions of one packet before a transfer is given up' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from serve" -l max-transfers -d 'Transfers at once, in all' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from serve" -l max-per-client -d 'Transfers at once from one client address' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from serve" -l busy-poll -d 'While transfers run, poll up to this many microseconds for a client\'s answer before sleeping (adaptive: it backs off when answers take longer); saves a sleep and a wake-up per block. 0 never polls' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from serve" -l grace -d 'After Ctrl-C or SIGTERM, seconds running transfers may take to finish' -r
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from serve" -l write -d 'Accept uploads (WRQ), as new files only'
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from serve" -l overwrite -d 'With --write: an upload may replace an existing file'
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from serve" -l follow-symlinks -d 'Follow symbolic links that stay inside DIR (links leading out are never followed)'
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from serve" -l no-options -d 'Plain RFC 1350: ignore every option (no OACK)'
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from serve" -l json -d 'One JSON record per line (nettool.tftp.serve/1): listening, each transfer, the summary'
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from serve" -s v -l verbose -d 'Trace every packet, one line each, on stderr'
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nettool -n "__fish_nettool_using_subcommand tftp; and __fish_seen_subcommand_from serve" -s V -l version -d 'Print version'
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -s c -l count -d 'Attempts to make (default 4); over many ports or hosts: rounds (default 1); 0 = until Ctrl-C or -w' -r
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -s w -l deadline -d 'Stop after this many seconds, whatever -c says (no attempt or round starts later; a scan with -w alone goes in rounds until then)' -r
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -l parallel -d 'Probes in flight at once, over many ports and hosts' -r
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -l rate -d 'At most this many new probes per second' -r
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -l max-probes -d 'Allow more than 65,536 probes in one run' -r
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -l max-hops -d '--trace: the highest TTL / hop limit to try, 1-255 (default 30)' -r
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -s q -l queries -d '--trace: probes per hop, 1-10 (default 3)' -r
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -l max-silent -d '--trace: stop after this many hops in a row that do not answer (default 5)' -r
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -s i -l interval -d 'Seconds between attempts, or between the starts of a scan\'s rounds (fractions allowed; 0 = back to back)' -r
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -s W -l timeout -d 'Seconds to wait for a handshake before calling it filtered (--trace: for each probe\'s answer, default 1)' -r
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -s I -l interface -d 'Send from this interface (SO_BINDTODEVICE)' -r
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -s s -l source -d 'Send from this local address' -r
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -l textfile -d 'Write the metrics to DIR/NAME.prom for node_exporter\'s textfile collector, atomically (temp file, fsync, rename), with nettool_run_success and nettool_last_run_timestamp_seconds; nothing else goes to stdout unless --prometheus is given too' -r -F
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -l keepalive -d 'Keepalive test: IDLE,INTVL,CNT in seconds/seconds/probes' -r
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -l user-timeout -d 'TCP_USER_TIMEOUT in milliseconds: abort when sent data stays unacknowledged that long' -r
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -l hold -d 'Seconds to hold an open connection for --keepalive/--user-timeout (default: long enough to see death)' -r
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -l send -d 'Data to send on each open connection' -r
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -s 4 -d 'IPv4 only (when a name resolves to both)'
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -s 6 -d 'IPv6 only'
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -s t -l until-stopped -d 'Probe until Ctrl-C or -w (the same as -c 0)'
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -l quiet-ok -d 'Print only state changes (down / up again / address changed), and the summary'
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -s r -l re-resolve -d 'With a name as HOST: resolve it again before each attempt; an address change is an event, a failed lookup a failed attempt'
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -l open -d 'Show only open ports (exit 0 when at least one is open)'
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -l trace -d 'Find where on the path the SYN dies: SYNs with rising TTL / hop limit, no root needed'
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -s D -l timestamp -d 'Prefix each line with a Unix timestamp'
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -s v -l verbose -d 'TCP_INFO after the handshake and at close'
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -l json -d 'JSON lines: one record per attempt, then the summary'
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -l prometheus -d 'Print the results as Prometheus metrics (text exposition format) instead of the usual output; see README "Fleets"'
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -l expect-close -d 'After --send, wait (up to -W) for the peer to close: FIN, RST or nothing'
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -l half-close -d 'Send, then shut down our side (FIN) and watch the peer finish the four-way close'
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -l rst -d 'Close abortively: SO_LINGER 0 sends a RST and leaves no TIME_WAIT'
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -l graceful -d 'Close with FIN even when probing back to back (-i 0)'
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -s V -l version -d 'Print version'
complete -c nettool -n "__fish_nettool_using_subcommand probe; and not __fish_seen_subcommand_from serve" -a "serve" -d 'A peer with a known behaviour to probe against'
complete -c nettool -n "__fish_nettool_using_subcommand probe; and __fish_seen_subcommand_from serve" -l behavior -d 'What to do with each connection' -r -f -a "accept\t'Accept, read and discard until the peer closes, then close (FIN)'
echo\t'Echo every byte back until the peer closes, then close'
rst\t'Accept and reset at once (SO_LINGER 0 then close: RST, not FIN)'
half-close\t'Read until the peer\'s FIN, then answer how many bytes arrived, then close: the second half of a four-way close'
silent\t'Accept and do nothing: never read, never close'
no-accept\t'Listen with a tiny backlog and never accept: the accept queue fills and later SYNs go unanswered'"
complete -c nettool -n "__fish_nettool_using_subcommand probe; and __fish_seen_subcommand_from serve" -l count -d 'Exit after this many connections' -r
complete -c nettool -n "__fish_nettool_using_subcommand probe; and __fish_seen_subcommand_from serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c nettool -n "__fish_nettool_using_subcommand probe; and __fish_seen_subcommand_from serve" -s V -l version -d 'Print version'
complete -c nettool -n "__fish_nettool_using_subcommand generate" -l out -d 'Directory that receives completions/ and man/' -r -F
complete -c nettool -n "__fish_nettool_using_subcommand generate" -s h -l help -d 'Print help'
complete -c nettool -n "__fish_nettool_using_subcommand generate" -s V -l version -d 'Print version'
