
use builtin;
use str;

set edit:completion:arg-completer[nettool] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'nettool'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'nettool'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand sockstat 'List sockets and their TCP states (like netstat and ss)'
            cand arp 'Send ARP requests and show replies (like arping), sweep a subnet (like arp-scan), or show the ARP cache'
            cand generate 'Write shell completions and man pages (for packagers and the repo)'
        }
        &'nettool;sockstat'= {
            cand --state 'Only these states (comma-separated or repeated): established, syn-sent, syn-recv, fin-wait-1, fin-wait-2, time-wait, close, close-wait, last-ack, listen, closing; groups: all, connected, synchronized, bucket, big. Overrides -l/-a'
            cand --sport 'Local port: PORT, LO-HI or a service name'
            cand --dport 'Remote port: PORT, LO-HI or a service name'
            cand --src 'Local address: ADDR, CIDR, ADDR:PORT, [IPV6]:PORT or :PORT'
            cand --dst 'Remote address: ADDR, CIDR, ADDR:PORT, [IPV6]:PORT or :PORT'
            cand --source 'Where rows come from'
            cand --dns-timeout 'Total time allowed for --dns lookups, in seconds'
            cand -t 'TCP sockets'
            cand --tcp 'TCP sockets'
            cand -u 'UDP sockets'
            cand --udp 'UDP sockets'
            cand -w 'Raw sockets'
            cand --raw 'Raw sockets'
            cand -x 'UNIX domain sockets'
            cand --unix 'UNIX domain sockets'
            cand -4 'IPv4 only'
            cand --ipv4 'IPv4 only'
            cand -6 'IPv6 only'
            cand --ipv6 'IPv6 only'
            cand -l 'Listening sockets only (TCP LISTEN, unconnected UDP/raw, accepting UNIX)'
            cand --listening 'Listening sockets only (TCP LISTEN, unconnected UDP/raw, accepting UNIX)'
            cand -a 'All sockets, listening and not (the default hides listeners, as netstat)'
            cand --all 'All sockets, listening and not (the default hides listeners, as netstat)'
            cand -n 'Numeric addresses and ports: no /etc/hosts or /etc/services names'
            cand --numeric 'Numeric addresses and ports: no /etc/hosts or /etc/services names'
            cand -p 'Show the owning process (PID/Program); all of them need root'
            cand --processes 'Show the owning process (PID/Program); all of them need root'
            cand -e 'Extended columns: user, inode and the pending TCP timer'
            cand --extended 'Extended columns: user, inode and the pending TCP timer'
            cand -s 'Summary: counts per protocol and TCP state, kernel figures, diagnosis'
            cand --summary 'Summary: counts per protocol and TCP state, kernel figures, diagnosis'
            cand --json 'JSON output (schema nettool.sockstat/1, see README)'
            cand --dns 'Resolve remote addresses through DNS (never done otherwise); bounded by --dns-timeout'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'nettool;arp'= {
            cand -I 'Interface to use (default: the one the route to TARGET uses)'
            cand --interface 'Interface to use (default: the one the route to TARGET uses)'
            cand -c 'Stop after sending COUNT requests'
            cand --count 'Stop after sending COUNT requests'
            cand -w 'Stop after SECS seconds, whatever the count'
            cand --deadline 'Stop after SECS seconds, whatever the count'
            cand -i 'Seconds between requests (fractions allowed, default 1); in the cache view: the interface to show, as arp -i'
            cand --interval 'Seconds between requests (fractions allowed, default 1); in the cache view: the interface to show, as arp -i'
            cand -s 'Source IPv4 address (must be on the interface, except with -D)'
            cand --source 'Source IPv4 address (must be on the interface, except with -D)'
            cand --rate 'Sweep: requests per second'
            cand --retries 'Sweep: further rounds for hosts that did not answer'
            cand --timeout 'Sweep: seconds to wait for replies after each round'
            cand -f 'Stop at the first reply'
            cand --first 'Stop at the first reply'
            cand -q 'Quiet: no per-reply lines, only the summary (and the exit status)'
            cand --quiet 'Quiet: no per-reply lines, only the summary (and the exit status)'
            cand -D 'Duplicate address detection: ask with sender 0.0.0.0; exit 0 if TARGET is free, 1 if in use'
            cand --dad 'Duplicate address detection: ask with sender 0.0.0.0; exit 0 if TARGET is free, 1 if in use'
            cand -U 'Unsolicited ARP: announce an address of ours (-s, else TARGET) so neighbours update their caches'
            cand --unsolicited 'Unsolicited ARP: announce an address of ours (-s, else TARGET) so neighbours update their caches'
            cand -A 'Like -U, but the announcement is an ARP reply (oper 2) instead of a request'
            cand --answer 'Like -U, but the announcement is an ARP reply (oper 2) instead of a request'
            cand -a 'Show the ARP cache (the default with no TARGET)'
            cand --cache 'Show the ARP cache (the default with no TARGET)'
            cand -n 'Cache view: numeric addresses, no names from /etc/hosts'
            cand --numeric 'Cache view: numeric addresses, no names from /etc/hosts'
            cand --localnet 'Sweep every IPv4 network on the interface'
            cand --json 'JSON output'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'nettool;generate'= {
            cand --out 'Directory that receives completions/ and man/'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
    ]
    $completions[$command]
}
