
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'nettool' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'nettool'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'nettool' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('sockstat', 'sockstat', [CompletionResultType]::ParameterValue, 'List sockets and their TCP states (like netstat and ss)')
            [CompletionResult]::new('arp', 'arp', [CompletionResultType]::ParameterValue, 'Send ARP requests and show replies (like arping), sweep a subnet (like arp-scan), or show the ARP cache')
            [CompletionResult]::new('tftp', 'tftp', [CompletionResultType]::ParameterValue, 'TFTP client: get and put files (RFC 1350 with blksize, tsize, timeout and windowsize)')
            [CompletionResult]::new('probe', 'probe', [CompletionResultType]::ParameterValue, 'Probe how peers answer TCP: open, RST, ICMP, silence; port scans, watching until stopped, where the SYN dies (--trace); keepalive, half and abortive close')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Write shell completions and man pages (for packagers and the repo)')
            break
        }
        'nettool;sockstat' {
            [CompletionResult]::new('-N', '-N ', [CompletionResultType]::ParameterName, 'The sockets of another network namespace: a name under /run/netns, a path to a netns file, or a PID whose namespace to use (entering another namespace needs root)')
            [CompletionResult]::new('--netns', '--netns', [CompletionResultType]::ParameterName, 'The sockets of another network namespace: a name under /run/netns, a path to a netns file, or a PID whose namespace to use (entering another namespace needs root)')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'With -s: read the kernel''s counters twice, SECS apart, and show the deltas and rates (as nstat). With --watch: SECS between two dumps (default 0.5). With --diagnose: SECS between its two readings (default 1)')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only these states (comma-separated or repeated): established, syn-sent, syn-recv, fin-wait-1, fin-wait-2, time-wait, close, close-wait, last-ack, listen, closing; groups: all, connected, synchronized, bucket, big. Overrides -l/-a')
            [CompletionResult]::new('--sport', '--sport', [CompletionResultType]::ParameterName, 'Local port: PORT, LO-HI or a service name')
            [CompletionResult]::new('--dport', '--dport', [CompletionResultType]::ParameterName, 'Remote port: PORT, LO-HI or a service name')
            [CompletionResult]::new('--src', '--src', [CompletionResultType]::ParameterName, 'Local address: ADDR, CIDR, ADDR:PORT, [IPV6]:PORT or :PORT')
            [CompletionResult]::new('--dst', '--dst', [CompletionResultType]::ParameterName, 'Remote address: ADDR, CIDR, ADDR:PORT, [IPV6]:PORT or :PORT')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Where rows come from')
            [CompletionResult]::new('--dns-timeout', '--dns-timeout', [CompletionResultType]::ParameterName, 'Total time allowed for --dns lookups, in seconds')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'With --watch: stop after N events')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'With --watch: stop after SECS seconds')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'TCP sockets')
            [CompletionResult]::new('--tcp', '--tcp', [CompletionResultType]::ParameterName, 'TCP sockets')
            [CompletionResult]::new('-u', '-u', [CompletionResultType]::ParameterName, 'UDP sockets')
            [CompletionResult]::new('--udp', '--udp', [CompletionResultType]::ParameterName, 'UDP sockets')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Raw sockets')
            [CompletionResult]::new('--raw', '--raw', [CompletionResultType]::ParameterName, 'Raw sockets')
            [CompletionResult]::new('-x', '-x', [CompletionResultType]::ParameterName, 'UNIX domain sockets')
            [CompletionResult]::new('--unix', '--unix', [CompletionResultType]::ParameterName, 'UNIX domain sockets')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'IPv4 only')
            [CompletionResult]::new('--ipv4', '--ipv4', [CompletionResultType]::ParameterName, 'IPv4 only')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'IPv6 only')
            [CompletionResult]::new('--ipv6', '--ipv6', [CompletionResultType]::ParameterName, 'IPv6 only')
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Listening sockets only (TCP LISTEN, unconnected UDP/raw, accepting UNIX)')
            [CompletionResult]::new('--listening', '--listening', [CompletionResultType]::ParameterName, 'Listening sockets only (TCP LISTEN, unconnected UDP/raw, accepting UNIX)')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'All sockets, listening and not (the default hides listeners, as netstat)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'All sockets, listening and not (the default hides listeners, as netstat)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Numeric addresses and ports: no /etc/hosts or /etc/services names')
            [CompletionResult]::new('--numeric', '--numeric', [CompletionResultType]::ParameterName, 'Numeric addresses and ports: no /etc/hosts or /etc/services names')
            [CompletionResult]::new('-p', '-p', [CompletionResultType]::ParameterName, 'Show the owning process (PID/Program); all of them need root')
            [CompletionResult]::new('--processes', '--processes', [CompletionResultType]::ParameterName, 'Show the owning process (PID/Program); all of them need root')
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Extended columns: user, inode and the pending TCP timer (what ss -o and netstat -o show: keepalive, retransmit, TIME_WAIT, zero-window probe, with its expiry and retries)')
            [CompletionResult]::new('--extended', '--extended', [CompletionResultType]::ParameterName, 'Extended columns: user, inode and the pending TCP timer (what ss -o and netstat -o show: keepalive, retransmit, TIME_WAIT, zero-window probe, with its expiry and retries)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'TCP internals per socket (the kernel''s TCP_INFO and congestion control): rtt, rto, cwnd, ssthresh, mss, retransmits, bytes, rates, limited times; a second line per socket, a tcp_info object in JSON. Needs netlink (not --source proc)')
            [CompletionResult]::new('--info', '--info', [CompletionResultType]::ParameterName, 'TCP internals per socket (the kernel''s TCP_INFO and congestion control): rtt, rto, cwnd, ssthresh, mss, retransmits, bytes, rates, limited times; a second line per socket, a tcp_info object in JSON. Needs netlink (not --source proc)')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'Socket memory per inet socket (SKMEMINFO), in bytes: receive and send buffers, what is queued and allocated, backlog, drops; a "skmem" line per socket, a memory object in JSON. Needs netlink')
            [CompletionResult]::new('--memory', '--memory', [CompletionResultType]::ParameterName, 'Socket memory per inet socket (SKMEMINFO), in bytes: receive and send buffers, what is queued and allocated, backlog, drops; a "skmem" line per socket, a memory object in JSON. Needs netlink')
            [CompletionResult]::new('-K', '-K ', [CompletionResultType]::ParameterName, 'Close the TCP and UDP sockets that match, in this network namespace or the one -N names (SOCK_DESTROY: a connected TCP peer gets a RST), and show them. It closes exactly what the same command without -K lists. Needs CAP_NET_ADMIN and a filter: --state, --sport, --dport, --src or --dst')
            [CompletionResult]::new('--kill', '--kill', [CompletionResultType]::ParameterName, 'Close the TCP and UDP sockets that match, in this network namespace or the one -N names (SOCK_DESTROY: a connected TCP peer gets a RST), and show them. It closes exactly what the same command without -K lists. Needs CAP_NET_ADMIN and a filter: --state, --sport, --dport, --src or --dst')
            [CompletionResult]::new('--all-netns', '--all-netns', [CompletionResultType]::ParameterName, 'Every network namespace on the host, each row labelled with its namespace (name, else a process in it and its container); without root only your own, and a note on how many were left out')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Summary: counts per protocol and TCP state, the kernel''s protocol counters, kernel figures, diagnosis')
            [CompletionResult]::new('--summary', '--summary', [CompletionResultType]::ParameterName, 'Summary: counts per protocol and TCP state, the kernel''s protocol counters, kernel figures, diagnosis')
            [CompletionResult]::new('--diagnose', '--diagnose', [CompletionResultType]::ParameterName, 'Say what is wrong, most severe first: CLOSE_WAIT leaks, accept queue overflows, SYN floods, TIME_WAIT pressure, retransmissions, peers or programs not reading, UDP drops, orphans, TCP memory; who (process, port, peer), the numbers and what to do. Reads twice, --interval apart (default 1 s). Exit 1 when something was found')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'JSON output (schema nettool.sockstat/1, see README)')
            [CompletionResult]::new('--dns', '--dns', [CompletionResultType]::ParameterName, 'Resolve remote addresses through DNS (never done otherwise); bounded by --dns-timeout. Not with --json, whose addresses are always numeric')
            [CompletionResult]::new('--watch', '--watch', [CompletionResultType]::ParameterName, 'Report sockets that appear, change TCP state or go away (TCP and UDP), as it happens, until Ctrl-C, --count or --duration: on a terminal a live table redrawn in place (q quits), piped (or with --lines, --json) one line per event')
            [CompletionResult]::new('--lines', '--lines', [CompletionResultType]::ParameterName, 'With --watch on a terminal: print one line per event, as when piped, instead of the live view (a table redrawn in place; q or Ctrl-C quits)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'nettool;arp' {
            [CompletionResult]::new('-I', '-I ', [CompletionResultType]::ParameterName, 'Interface to use (default: the one the route to TARGET uses)')
            [CompletionResult]::new('--interface', '--interface', [CompletionResultType]::ParameterName, 'Interface to use (default: the one the route to TARGET uses)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Stop after sending COUNT requests')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Stop after sending COUNT requests')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Stop after SECS seconds, whatever the count')
            [CompletionResult]::new('--deadline', '--deadline', [CompletionResultType]::ParameterName, 'Stop after SECS seconds, whatever the count')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Seconds between requests (fractions allowed, default 1); in the cache view: the interface to show, as arp -i')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Seconds between requests (fractions allowed, default 1); in the cache view: the interface to show, as arp -i')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Source IPv4 address (must be on the interface, except with -D)')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Source IPv4 address (must be on the interface, except with -D)')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Sweep: requests per second')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Sweep: further rounds for hosts that did not answer, 0-100 (extra rounds, unlike arp-scan''s --retry, which counts all)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Sweep: seconds to wait for replies after each round')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Stop at the first reply')
            [CompletionResult]::new('--first', '--first', [CompletionResultType]::ParameterName, 'Stop at the first reply')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Quiet: no per-reply lines, only the summary (and the exit status)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Quiet: no per-reply lines, only the summary (and the exit status)')
            [CompletionResult]::new('-D', '-D ', [CompletionResultType]::ParameterName, 'Duplicate address detection: ask with sender 0.0.0.0; exit 0 if TARGET is free, 1 if in use')
            [CompletionResult]::new('--dad', '--dad', [CompletionResultType]::ParameterName, 'Duplicate address detection: ask with sender 0.0.0.0; exit 0 if TARGET is free, 1 if in use')
            [CompletionResult]::new('-U', '-U ', [CompletionResultType]::ParameterName, 'Unsolicited ARP: announce an address of ours (-s, else TARGET) so neighbours update their caches')
            [CompletionResult]::new('--unsolicited', '--unsolicited', [CompletionResultType]::ParameterName, 'Unsolicited ARP: announce an address of ours (-s, else TARGET) so neighbours update their caches')
            [CompletionResult]::new('-A', '-A ', [CompletionResultType]::ParameterName, 'Like -U, but the announcement is an ARP reply (oper 2) instead of a request')
            [CompletionResult]::new('--answer', '--answer', [CompletionResultType]::ParameterName, 'Like -U, but the announcement is an ARP reply (oper 2) instead of a request')
            [CompletionResult]::new('-a', '-a', [CompletionResultType]::ParameterName, 'Show the ARP cache (the default with no TARGET)')
            [CompletionResult]::new('--cache', '--cache', [CompletionResultType]::ParameterName, 'Show the ARP cache (the default with no TARGET)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Cache view: numeric addresses, no names from /etc/hosts')
            [CompletionResult]::new('--numeric', '--numeric', [CompletionResultType]::ParameterName, 'Cache view: numeric addresses, no names from /etc/hosts')
            [CompletionResult]::new('--localnet', '--localnet', [CompletionResultType]::ParameterName, 'Sweep every IPv4 network on the interface')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'JSON output')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'nettool;tftp' {
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('get', 'get', [CompletionResultType]::ParameterValue, 'Download: get HOST FILE [LOCAL], get tftp://HOST[:PORT]/FILE [LOCAL], or get HOST FILE... --dir DIR')
            [CompletionResult]::new('put', 'put', [CompletionResultType]::ParameterValue, 'Upload: put HOST LOCAL [REMOTE], put tftp://HOST[:PORT]/REMOTE LOCAL, or put HOST LOCAL... --dir DIR')
            break
        }
        'nettool;tftp;get' {
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'Most bytes the server may make us write (default: the tsize it announces)')
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Download each FILE into DIR, under its last path component (several files in one run, one after another)')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'Transfer mode (octet: bytes as they are; netascii: CR LF line ends on the wire)')
            [CompletionResult]::new('--mode', '--mode', [CompletionResultType]::ParameterName, 'Transfer mode (octet: bytes as they are; netascii: CR LF line ends on the wire)')
            [CompletionResult]::new('--blksize', '--blksize', [CompletionResultType]::ParameterName, 'Block size to ask for, 8..65464 (RFC 2348; default: 512, asked of nobody)')
            [CompletionResult]::new('--windowsize', '--windowsize', [CompletionResultType]::ParameterName, 'Blocks per ACK to ask for, 1..65535 (RFC 7440)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Retransmission timeout in seconds (fractions allowed; the server is asked for it rounded up, RFC 2349) [default: 1, not asked]')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retransmissions of one packet before giving up')
            [CompletionResult]::new('--dally', '--dally', [CompletionResultType]::ParameterName, 'After the last ACK, seconds to stay and re-ACK a repeated final block (the file is already complete; raise it to a server''s retransmit timeout for a full RFC 1350 dally)')
            [CompletionResult]::new('--busy-poll', '--busy-poll', [CompletionResultType]::ParameterName, 'Poll the socket up to this many microseconds before sleeping, for a packet we answer at once (every block in lock-step, the end of a window); adaptive: it backs off when answers take longer. Saves a sleep and a wake-up per block. 0 never polls, and never naps through windows on a timer either')
            [CompletionResult]::new('--bind', '--bind', [CompletionResultType]::ParameterName, 'Local address of the client''s socket (of the server''s address family; default: any)')
            [CompletionResult]::new('--port-range', '--port-range', [CompletionResultType]::ParameterName, 'Bind a local port in LO..HI for each transfer, never one outside (tftp-hpa''s -R, for firewalls; default: the kernel picks)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Overwrite an existing local file')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Overwrite an existing local file')
            [CompletionResult]::new('--keep-partial', '--keep-partial', [CompletionResultType]::ParameterName, 'On failure keep what arrived as LOCAL.part instead of deleting it')
            [CompletionResult]::new('--no-tsize', '--no-tsize', [CompletionResultType]::ParameterName, 'Do not ask the server for the file size (tsize is asked by default)')
            [CompletionResult]::new('--no-options', '--no-options', [CompletionResultType]::ParameterName, 'Plain RFC 1350: ask for no options at all')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Trace every packet, one line each, on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Trace every packet, one line each, on stderr')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'A JSON record of the transfer (with --dir: one line per file, then a summary line)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'nettool;tftp;put' {
            [CompletionResult]::new('--dir', '--dir', [CompletionResultType]::ParameterName, 'Send each LOCAL as DIR/NAME on the server, NAME its file name (several files in one run; . for the server''s own directory)')
            [CompletionResult]::new('-m', '-m', [CompletionResultType]::ParameterName, 'Transfer mode (octet: bytes as they are; netascii: CR LF line ends on the wire)')
            [CompletionResult]::new('--mode', '--mode', [CompletionResultType]::ParameterName, 'Transfer mode (octet: bytes as they are; netascii: CR LF line ends on the wire)')
            [CompletionResult]::new('--blksize', '--blksize', [CompletionResultType]::ParameterName, 'Block size to ask for, 8..65464 (RFC 2348; default: 512, asked of nobody)')
            [CompletionResult]::new('--windowsize', '--windowsize', [CompletionResultType]::ParameterName, 'Blocks per ACK to ask for, 1..65535 (RFC 7440)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Retransmission timeout in seconds (fractions allowed; the server is asked for it rounded up, RFC 2349) [default: 1, not asked]')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Retransmissions of one packet before giving up')
            [CompletionResult]::new('--dally', '--dally', [CompletionResultType]::ParameterName, 'After the last ACK, seconds to stay and re-ACK a repeated final block (the file is already complete; raise it to a server''s retransmit timeout for a full RFC 1350 dally)')
            [CompletionResult]::new('--busy-poll', '--busy-poll', [CompletionResultType]::ParameterName, 'Poll the socket up to this many microseconds before sleeping, for a packet we answer at once (every block in lock-step, the end of a window); adaptive: it backs off when answers take longer. Saves a sleep and a wake-up per block. 0 never polls, and never naps through windows on a timer either')
            [CompletionResult]::new('--bind', '--bind', [CompletionResultType]::ParameterName, 'Local address of the client''s socket (of the server''s address family; default: any)')
            [CompletionResult]::new('--port-range', '--port-range', [CompletionResultType]::ParameterName, 'Bind a local port in LO..HI for each transfer, never one outside (tftp-hpa''s -R, for firewalls; default: the kernel picks)')
            [CompletionResult]::new('--tsize', '--tsize', [CompletionResultType]::ParameterName, 'Tell the server the size up front (tsize; octet mode, not stdin)')
            [CompletionResult]::new('--no-options', '--no-options', [CompletionResultType]::ParameterName, 'Plain RFC 1350: ask for no options at all')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Trace every packet, one line each, on stderr')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Trace every packet, one line each, on stderr')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'A JSON record of the transfer (with --dir: one line per file, then a summary line)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'nettool;probe' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Attempts to make (default 4); over many ports or hosts: rounds (default 1); 0 = until Ctrl-C or -w')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Attempts to make (default 4); over many ports or hosts: rounds (default 1); 0 = until Ctrl-C or -w')
            [CompletionResult]::new('-w', '-w', [CompletionResultType]::ParameterName, 'Stop after this many seconds, whatever -c says (no attempt or round starts later; a scan with -w alone goes in rounds until then)')
            [CompletionResult]::new('--deadline', '--deadline', [CompletionResultType]::ParameterName, 'Stop after this many seconds, whatever -c says (no attempt or round starts later; a scan with -w alone goes in rounds until then)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Probes in flight at once, over many ports and hosts')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'At most this many new probes per second')
            [CompletionResult]::new('--max-probes', '--max-probes', [CompletionResultType]::ParameterName, 'Allow more than 65,536 probes in one run')
            [CompletionResult]::new('--max-hops', '--max-hops', [CompletionResultType]::ParameterName, '--trace: the highest TTL / hop limit to try, 1-255 (default 30)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, '--trace: probes per hop, 1-10 (default 3)')
            [CompletionResult]::new('--queries', '--queries', [CompletionResultType]::ParameterName, '--trace: probes per hop, 1-10 (default 3)')
            [CompletionResult]::new('--max-silent', '--max-silent', [CompletionResultType]::ParameterName, '--trace: stop after this many hops in a row that do not answer (default 5)')
            [CompletionResult]::new('-i', '-i', [CompletionResultType]::ParameterName, 'Seconds between attempts, or between the starts of a scan''s rounds (fractions allowed; 0 = back to back)')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Seconds between attempts, or between the starts of a scan''s rounds (fractions allowed; 0 = back to back)')
            [CompletionResult]::new('-W', '-W ', [CompletionResultType]::ParameterName, 'Seconds to wait for a handshake before calling it filtered (--trace: for each probe''s answer, default 1)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a handshake before calling it filtered (--trace: for each probe''s answer, default 1)')
            [CompletionResult]::new('-I', '-I ', [CompletionResultType]::ParameterName, 'Send from this interface (SO_BINDTODEVICE)')
            [CompletionResult]::new('--interface', '--interface', [CompletionResultType]::ParameterName, 'Send from this interface (SO_BINDTODEVICE)')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Send from this local address')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Send from this local address')
            [CompletionResult]::new('--keepalive', '--keepalive', [CompletionResultType]::ParameterName, 'Keepalive test: IDLE,INTVL,CNT in seconds/seconds/probes')
            [CompletionResult]::new('--user-timeout', '--user-timeout', [CompletionResultType]::ParameterName, 'TCP_USER_TIMEOUT in milliseconds: abort when sent data stays unacknowledged that long')
            [CompletionResult]::new('--hold', '--hold', [CompletionResultType]::ParameterName, 'Seconds to hold an open connection for --keepalive/--user-timeout (default: long enough to see death)')
            [CompletionResult]::new('--send', '--send', [CompletionResultType]::ParameterName, 'Data to send on each open connection')
            [CompletionResult]::new('-4', '-4', [CompletionResultType]::ParameterName, 'IPv4 only (when a name resolves to both)')
            [CompletionResult]::new('-6', '-6', [CompletionResultType]::ParameterName, 'IPv6 only')
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'Probe until Ctrl-C or -w (the same as -c 0)')
            [CompletionResult]::new('--until-stopped', '--until-stopped', [CompletionResultType]::ParameterName, 'Probe until Ctrl-C or -w (the same as -c 0)')
            [CompletionResult]::new('--quiet-ok', '--quiet-ok', [CompletionResultType]::ParameterName, 'Print only state changes (down / up again / address changed), and the summary')
            [CompletionResult]::new('-r', '-r', [CompletionResultType]::ParameterName, 'With a name as HOST: resolve it again before each attempt; an address change is an event, a failed lookup a failed attempt')
            [CompletionResult]::new('--re-resolve', '--re-resolve', [CompletionResultType]::ParameterName, 'With a name as HOST: resolve it again before each attempt; an address change is an event, a failed lookup a failed attempt')
            [CompletionResult]::new('--open', '--open', [CompletionResultType]::ParameterName, 'Show only open ports (exit 0 when at least one is open)')
            [CompletionResult]::new('--trace', '--trace', [CompletionResultType]::ParameterName, 'Find where on the path the SYN dies: SYNs with rising TTL / hop limit, no root needed')
            [CompletionResult]::new('-D', '-D ', [CompletionResultType]::ParameterName, 'Prefix each line with a Unix timestamp')
            [CompletionResult]::new('--timestamp', '--timestamp', [CompletionResultType]::ParameterName, 'Prefix each line with a Unix timestamp')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'TCP_INFO after the handshake and at close')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'TCP_INFO after the handshake and at close')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'JSON lines: one record per attempt, then the summary')
            [CompletionResult]::new('--expect-close', '--expect-close', [CompletionResultType]::ParameterName, 'After --send, wait (up to -W) for the peer to close: FIN, RST or nothing')
            [CompletionResult]::new('--half-close', '--half-close', [CompletionResultType]::ParameterName, 'Send, then shut down our side (FIN) and watch the peer finish the four-way close')
            [CompletionResult]::new('--rst', '--rst', [CompletionResultType]::ParameterName, 'Close abortively: SO_LINGER 0 sends a RST and leaves no TIME_WAIT')
            [CompletionResult]::new('--graceful', '--graceful', [CompletionResultType]::ParameterName, 'Close with FIN even when probing back to back (-i 0)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'A peer with a known behaviour to probe against')
            break
        }
        'nettool;probe;serve' {
            [CompletionResult]::new('--behavior', '--behavior', [CompletionResultType]::ParameterName, 'What to do with each connection')
            [CompletionResult]::new('--count', '--count', [CompletionResultType]::ParameterName, 'Exit after this many connections')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'nettool;generate' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Directory that receives completions/ and man/')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
