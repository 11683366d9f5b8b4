
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
            cand tftp 'TFTP client: get and put files (RFC 1350 with blksize, tsize, timeout and windowsize)'
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
        &'nettool;tftp'= {
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand get 'Download: get HOST FILE [LOCAL], or get tftp://HOST[:PORT]/FILE [LOCAL]'
            cand put 'Upload: put HOST LOCAL [REMOTE], or put tftp://HOST[:PORT]/REMOTE LOCAL'
        }
        &'nettool;tftp;get'= {
            cand --max-size 'Most bytes the server may make us write (default: the tsize it announces)'
            cand -m 'Transfer mode (octet: bytes as they are; netascii: CR LF line ends on the wire)'
            cand --mode 'Transfer mode (octet: bytes as they are; netascii: CR LF line ends on the wire)'
            cand --blksize 'Block size to ask for, 8..65464 (RFC 2348; default: 512, asked of nobody)'
            cand --windowsize 'Blocks per ACK to ask for, 1..65535 (RFC 7440)'
            cand --timeout 'Retransmission timeout in seconds (fractions allowed; the server is asked for it rounded up, RFC 2349) [default: 1, not asked]'
            cand --retries 'Retransmissions of one packet before giving up'
            cand --dally 'After the last ACK, seconds to stay and re-ACK a repeated final block'
            cand -f 'Overwrite an existing local file'
            cand --force 'Overwrite an existing local file'
            cand --keep-partial 'On failure keep what arrived as LOCAL.part instead of deleting it'
            cand --no-tsize 'Do not ask the server for the file size (tsize is asked by default)'
            cand --no-options 'Plain RFC 1350: ask for no options at all'
            cand -v 'Trace every packet, one line each, on stderr'
            cand --verbose 'Trace every packet, one line each, on stderr'
            cand --json 'A JSON record of the transfer'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'nettool;tftp;put'= {
            cand -m 'Transfer mode (octet: bytes as they are; netascii: CR LF line ends on the wire)'
            cand --mode 'Transfer mode (octet: bytes as they are; netascii: CR LF line ends on the wire)'
            cand --blksize 'Block size to ask for, 8..65464 (RFC 2348; default: 512, asked of nobody)'
            cand --windowsize 'Blocks per ACK to ask for, 1..65535 (RFC 7440)'
            cand --timeout 'Retransmission timeout in seconds (fractions allowed; the server is asked for it rounded up, RFC 2349) [default: 1, not asked]'
            cand --retries 'Retransmissions of one packet before giving up'
            cand --dally 'After the last ACK, seconds to stay and re-ACK a repeated final block'
            cand --tsize 'Tell the server the size up front (tsize; octet mode, not stdin)'
            cand --no-options 'Plain RFC 1350: ask for no options at all'
            cand -v 'Trace every packet, one line each, on stderr'
            cand --verbose 'Trace every packet, one line each, on stderr'
            cand --json 'A JSON record of the transfer'
            cand -h 'Print help'
            cand --help 'Print help'
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
