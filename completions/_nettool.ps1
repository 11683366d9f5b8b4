
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
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Write shell completions and man pages (for packagers and the repo)')
            break
        }
        'nettool;sockstat' {
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only these states (comma-separated or repeated): established, syn-sent, syn-recv, fin-wait-1, fin-wait-2, time-wait, close, close-wait, last-ack, listen, closing; groups: all, connected, synchronized, bucket, big. Overrides -l/-a')
            [CompletionResult]::new('--sport', '--sport', [CompletionResultType]::ParameterName, 'Local port: PORT, LO-HI or a service name')
            [CompletionResult]::new('--dport', '--dport', [CompletionResultType]::ParameterName, 'Remote port: PORT, LO-HI or a service name')
            [CompletionResult]::new('--src', '--src', [CompletionResultType]::ParameterName, 'Local address: ADDR, CIDR, ADDR:PORT, [IPV6]:PORT or :PORT')
            [CompletionResult]::new('--dst', '--dst', [CompletionResultType]::ParameterName, 'Remote address: ADDR, CIDR, ADDR:PORT, [IPV6]:PORT or :PORT')
            [CompletionResult]::new('--source', '--source', [CompletionResultType]::ParameterName, 'Where rows come from')
            [CompletionResult]::new('--dns-timeout', '--dns-timeout', [CompletionResultType]::ParameterName, 'Total time allowed for --dns lookups, in seconds')
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
            [CompletionResult]::new('-e', '-e', [CompletionResultType]::ParameterName, 'Extended columns: user, inode and the pending TCP timer')
            [CompletionResult]::new('--extended', '--extended', [CompletionResultType]::ParameterName, 'Extended columns: user, inode and the pending TCP timer')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'Summary: counts per protocol and TCP state, kernel figures, diagnosis')
            [CompletionResult]::new('--summary', '--summary', [CompletionResultType]::ParameterName, 'Summary: counts per protocol and TCP state, kernel figures, diagnosis')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'JSON output (schema nettool.sockstat/1, see README)')
            [CompletionResult]::new('--dns', '--dns', [CompletionResultType]::ParameterName, 'Resolve remote addresses through DNS (never done otherwise); bounded by --dns-timeout')
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
