
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'grpcstream' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'grpcstream'
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
        'grpcstream' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read settings from this TOML file (flags > environment > file > defaults)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format, on stderr')
            [CompletionResult]::new('--workers', '--workers', [CompletionResultType]::ParameterName, 'Runtime worker threads [default: one per CPU core]; with one, everything runs on one thread')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log at debug level, including every message''s content')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log at debug level, including every message''s content')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the echo server (the four streaming RPCs of api.stream.v1.EchoService)')
            [CompletionResult]::new('probe', 'probe', [CompletionResultType]::ParameterValue, 'Call a server''s streaming RPCs and check every reply; the exit code tells the result')
            [CompletionResult]::new('soak', 'soak', [CompletionResultType]::ParameterValue, 'Load-test streaming: latency histograms, throughput, integrity, pass/fail gates')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff) to stdout')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'grpcstream;serve' {
            [CompletionResult]::new('--port', '--port', [CompletionResultType]::ParameterName, 'TCP port to listen on (0 picks a free one; the start-up line says which)')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'IP address to listen on: `[::]` (all, IPv6 and IPv4), `0.0.0.0`, `127.0.0.1`, `[::1]`')
            [CompletionResult]::new('--max-message-size', '--max-message-size', [CompletionResultType]::ParameterName, 'Largest message accepted or sent, both directions; larger ones fail with RESOURCE_EXHAUSTED')
            [CompletionResult]::new('--grace', '--grace', [CompletionResultType]::ParameterName, 'On SIGINT/SIGTERM, how long in-flight RPCs may run on before they are cancelled')
            [CompletionResult]::new('--server-stream-count', '--server-stream-count', [CompletionResultType]::ParameterName, 'EchoServerStream: replies per request')
            [CompletionResult]::new('--server-stream-interval', '--server-stream-interval', [CompletionResultType]::ParameterName, 'EchoServerStream: pause between two replies')
            [CompletionResult]::new('--async-queue', '--async-queue', [CompletionResultType]::ParameterName, 'EchoBidirectionalStreamAsync: capacity of the queue between receiver and worker')
            [CompletionResult]::new('--async-delay', '--async-delay', [CompletionResultType]::ParameterName, 'EchoBidirectionalStreamAsync: processing time per message before its reply')
            [CompletionResult]::new('--tls-cert', '--tls-cert', [CompletionResultType]::ParameterName, 'Serve TLS with this PEM certificate (chain) (with --tls-key)')
            [CompletionResult]::new('--tls-key', '--tls-key', [CompletionResultType]::ParameterName, 'PEM private key of --tls-cert')
            [CompletionResult]::new('--tls-client-ca', '--tls-client-ca', [CompletionResultType]::ParameterName, 'Require client certificates signed by this PEM CA (mutual TLS); others are refused')
            [CompletionResult]::new('--auth-token-file', '--auth-token-file', [CompletionResultType]::ParameterName, 'Require `authorization: Bearer <token>` on every RPC but health checks, with the token in this file')
            [CompletionResult]::new('--compression', '--compression', [CompletionResultType]::ParameterName, 'Compress replies to clients that accept it (requests are accepted in gzip and zstd)')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Open connections at most; further ones are closed at once')
            [CompletionResult]::new('--max-concurrent-streams', '--max-concurrent-streams', [CompletionResultType]::ParameterName, 'Streams (RPCs) at once on one connection; more wait for a free slot (HTTP/2 SETTINGS)')
            [CompletionResult]::new('--handshake-timeout', '--handshake-timeout', [CompletionResultType]::ParameterName, 'A connection must start HTTP/2 within this, or it is closed (slow or silent clients)')
            [CompletionResult]::new('--keepalive-interval', '--keepalive-interval', [CompletionResultType]::ParameterName, 'Send an HTTP/2 PING after this long without traffic from the client…')
            [CompletionResult]::new('--keepalive-timeout', '--keepalive-timeout', [CompletionResultType]::ParameterName, '…and close the connection when its answer takes longer than this')
            [CompletionResult]::new('--stream-window', '--stream-window', [CompletionResultType]::ParameterName, 'HTTP/2 flow-control window of each stream: what one stream may buffer unread')
            [CompletionResult]::new('--connection-window', '--connection-window', [CompletionResultType]::ParameterName, 'HTTP/2 flow-control window of each connection, all its streams together')
            [CompletionResult]::new('--max-rpc-duration', '--max-rpc-duration', [CompletionResultType]::ParameterName, 'End any RPC still running after this with DEADLINE_EXCEEDED [default: no limit]')
            [CompletionResult]::new('--chaos-rate', '--chaos-rate', [CompletionResultType]::ParameterName, 'Fail this fraction of RPCs on purpose (half UNAVAILABLE, half stream resets), to test clients'' retries')
            [CompletionResult]::new('--metrics-listen', '--metrics-listen', [CompletionResultType]::ParameterName, 'Serve Prometheus metrics over HTTP at this address (e.g. 127.0.0.1:9100) [default: off]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read settings from this TOML file (flags > environment > file > defaults)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format, on stderr')
            [CompletionResult]::new('--workers', '--workers', [CompletionResultType]::ParameterName, 'Runtime worker threads [default: one per CPU core]; with one, everything runs on one thread')
            [CompletionResult]::new('--no-reflection', '--no-reflection', [CompletionResultType]::ParameterName, 'Do not serve gRPC server reflection (grpcurl list/describe)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log at debug level, including every message''s content')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log at debug level, including every message''s content')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'grpcstream;probe' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The server: `host:port`, `http://host:port` or `https://host:port` (TLS)')
            [CompletionResult]::new('--messages', '--messages', [CompletionResultType]::ParameterName, 'Messages per call for client-stream, bidi-sync and bidi-async [default: 3]')
            [CompletionResult]::new('--message-gap', '--message-gap', [CompletionResultType]::ParameterName, 'Pause between two messages of a call [default: 500ms client-stream, 1s bidi-sync, 800ms bidi-async]')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Pause between two probes of a pattern when repeating [default: 5s client-stream, 4s server-stream, 6s bidi-sync, 7s bidi-async]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of every RPC')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Deadline for establishing the connection')
            [CompletionResult]::new('--hold', '--hold', [CompletionResultType]::ParameterName, '`probe conformance`: how long the long-lived stream case holds its stream open')
            [CompletionResult]::new('--max-message-size', '--max-message-size', [CompletionResultType]::ParameterName, '`probe conformance`: the server''s message size limit; one byte more must be refused')
            [CompletionResult]::new('--service', '--service', [CompletionResultType]::ParameterName, '`probe health`: the service to check [default: "", the whole server]')
            [CompletionResult]::new('--server-stream-count', '--server-stream-count', [CompletionResultType]::ParameterName, 'Replies expected from EchoServerStream (the server''s --server-stream-count)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Result format on stdout (logs go to stderr)')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Metadata sent with every RPC, as `key=value`; repeat for more')
            [CompletionResult]::new('--auth-token-file', '--auth-token-file', [CompletionResultType]::ParameterName, 'Send `authorization: Bearer <token>` with the token in this file')
            [CompletionResult]::new('--compression', '--compression', [CompletionResultType]::ParameterName, 'Compress the messages sent (replies are accepted in gzip and zstd whatever this says)')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'PEM file of the CA that signed the server''s certificate [default: the system''s roots]')
            [CompletionResult]::new('--client-cert', '--client-cert', [CompletionResultType]::ParameterName, 'PEM certificate to present to a server that requires mutual TLS (with --client-key)')
            [CompletionResult]::new('--client-key', '--client-key', [CompletionResultType]::ParameterName, 'PEM private key of --client-cert')
            [CompletionResult]::new('--tls-server-name', '--tls-server-name', [CompletionResultType]::ParameterName, 'Name to verify the server''s certificate against [default: the host of --server]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read settings from this TOML file (flags > environment > file > defaults)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format, on stderr')
            [CompletionResult]::new('--workers', '--workers', [CompletionResultType]::ParameterName, 'Runtime worker threads [default: one per CPU core]; with one, everything runs on one thread')
            [CompletionResult]::new('--once', '--once', [CompletionResultType]::ParameterName, 'Probe once and exit; without it, probe repeatedly until Ctrl+C, then print a summary')
            [CompletionResult]::new('--insecure-skip-verify', '--insecure-skip-verify', [CompletionResultType]::ParameterName, 'Accept any server certificate. Only for test servers: anyone in the path can read and change the traffic')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log at debug level, including every message''s content')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log at debug level, including every message''s content')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'grpcstream;soak' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The server to soak (`host:port`, `http://…`, `https://…`); without it, an embedded server on 127.0.0.1 with no demo delays')
            [CompletionResult]::new('--pattern', '--pattern', [CompletionResultType]::ParameterName, 'The RPC every stream uses')
            [CompletionResult]::new('--mix', '--mix', [CompletionResultType]::ParameterName, 'Weights for --pattern mix, e.g. `bidi-sync=70,client-stream=30` [default: all four equal]')
            [CompletionResult]::new('--concurrency', '--concurrency', [CompletionResultType]::ParameterName, 'Streams in flight at once')
            [CompletionResult]::new('--connections', '--connections', [CompletionResultType]::ParameterName, 'HTTP/2 connections the streams are spread over')
            [CompletionResult]::new('--duration', '--duration', [CompletionResultType]::ParameterName, 'How long to measure, after the warm-up')
            [CompletionResult]::new('--streams', '--streams', [CompletionResultType]::ParameterName, 'Stop after this many streams instead of after --duration')
            [CompletionResult]::new('--warmup', '--warmup', [CompletionResultType]::ParameterName, 'Load applied before measuring starts, excluded from the results')
            [CompletionResult]::new('--messages-per-stream', '--messages-per-stream', [CompletionResultType]::ParameterName, 'Messages each stream sends (server-stream: replies it expects from the embedded server)')
            [CompletionResult]::new('--stream-duration', '--stream-duration', [CompletionResultType]::ParameterName, 'Keep each stream open this long instead (long-lived streams)')
            [CompletionResult]::new('--message-size', '--message-size', [CompletionResultType]::ParameterName, 'Length of each message (the integrity header takes the first ~30 bytes)')
            [CompletionResult]::new('--rate', '--rate', [CompletionResultType]::ParameterName, 'Messages per second in total, paced open-loop (latency counts from the intended send time); without it, each stream sends as fast as the server takes messages')
            [CompletionResult]::new('--in-flight', '--in-flight', [CompletionResultType]::ParameterName, 'Bidi streams: at most N messages awaiting their echo (1: ping-pong, the next message only after the echo of the last) [default: as many as HTTP/2 flow control lets through]')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Deadline of each stream (added to --stream-duration for long-lived streams)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Deadline for establishing a connection')
            [CompletionResult]::new('--server-stream-count', '--server-stream-count', [CompletionResultType]::ParameterName, 'Replies an external server sends per EchoServerStream call (its --server-stream-count)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, '`text` or `json` on stdout; `json FILE` writes the JSON report to FILE and the table to stdout')
            [CompletionResult]::new('--max-p99', '--max-p99', [CompletionResultType]::ParameterName, 'Fail (exit 1) when the p99 latency is above this')
            [CompletionResult]::new('--max-error-rate', '--max-error-rate', [CompletionResultType]::ParameterName, 'Fail (exit 1) when more than this percentage of streams failed')
            [CompletionResult]::new('--min-throughput', '--min-throughput', [CompletionResultType]::ParameterName, 'Fail (exit 1) when fewer messages per second came back')
            [CompletionResult]::new('--header', '--header', [CompletionResultType]::ParameterName, 'Metadata sent with every RPC, as `key=value`; repeat for more')
            [CompletionResult]::new('--auth-token-file', '--auth-token-file', [CompletionResultType]::ParameterName, 'Send `authorization: Bearer <token>` with the token in this file')
            [CompletionResult]::new('--compression', '--compression', [CompletionResultType]::ParameterName, 'Compress the messages sent (replies are accepted in gzip and zstd whatever this says)')
            [CompletionResult]::new('--ca-cert', '--ca-cert', [CompletionResultType]::ParameterName, 'PEM file of the CA that signed the server''s certificate [default: the system''s roots]')
            [CompletionResult]::new('--client-cert', '--client-cert', [CompletionResultType]::ParameterName, 'PEM certificate to present to a server that requires mutual TLS (with --client-key)')
            [CompletionResult]::new('--client-key', '--client-key', [CompletionResultType]::ParameterName, 'PEM private key of --client-cert')
            [CompletionResult]::new('--tls-server-name', '--tls-server-name', [CompletionResultType]::ParameterName, 'Name to verify the server''s certificate against [default: the host of --server]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read settings from this TOML file (flags > environment > file > defaults)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format, on stderr')
            [CompletionResult]::new('--workers', '--workers', [CompletionResultType]::ParameterName, 'Runtime worker threads [default: one per CPU core]; with one, everything runs on one thread')
            [CompletionResult]::new('--insecure-skip-verify', '--insecure-skip-verify', [CompletionResultType]::ParameterName, 'Accept any server certificate. Only for test servers: anyone in the path can read and change the traffic')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log at debug level, including every message''s content')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log at debug level, including every message''s content')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('merge', 'merge', [CompletionResultType]::ParameterValue, 'Combine JSON reports of several runs (e.g. from several machines) into one, with exact percentiles')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'grpcstream;soak;merge' {
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, '`text` or `json` on stdout; `json FILE` writes the merged report to FILE')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read settings from this TOML file (flags > environment > file > defaults)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format, on stderr')
            [CompletionResult]::new('--workers', '--workers', [CompletionResultType]::ParameterName, 'Runtime worker threads [default: one per CPU core]; with one, everything runs on one thread')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log at debug level, including every message''s content')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log at debug level, including every message''s content')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'grpcstream;soak;help' {
            [CompletionResult]::new('merge', 'merge', [CompletionResultType]::ParameterValue, 'Combine JSON reports of several runs (e.g. from several machines) into one, with exact percentiles')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'grpcstream;soak;help;merge' {
            break
        }
        'grpcstream;soak;help;help' {
            break
        }
        'grpcstream;completions' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read settings from this TOML file (flags > environment > file > defaults)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format, on stderr')
            [CompletionResult]::new('--workers', '--workers', [CompletionResultType]::ParameterName, 'Runtime worker threads [default: one per CPU core]; with one, everything runs on one thread')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log at debug level, including every message''s content')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log at debug level, including every message''s content')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'grpcstream;man' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read settings from this TOML file (flags > environment > file > defaults)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format, on stderr')
            [CompletionResult]::new('--workers', '--workers', [CompletionResultType]::ParameterName, 'Runtime worker threads [default: one per CPU core]; with one, everything runs on one thread')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log at debug level, including every message''s content')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log at debug level, including every message''s content')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'grpcstream;help' {
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the echo server (the four streaming RPCs of api.stream.v1.EchoService)')
            [CompletionResult]::new('probe', 'probe', [CompletionResultType]::ParameterValue, 'Call a server''s streaming RPCs and check every reply; the exit code tells the result')
            [CompletionResult]::new('soak', 'soak', [CompletionResultType]::ParameterValue, 'Load-test streaming: latency histograms, throughput, integrity, pass/fail gates')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff) to stdout')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'grpcstream;help;serve' {
            break
        }
        'grpcstream;help;probe' {
            break
        }
        'grpcstream;help;soak' {
            [CompletionResult]::new('merge', 'merge', [CompletionResultType]::ParameterValue, 'Combine JSON reports of several runs (e.g. from several machines) into one, with exact percentiles')
            break
        }
        'grpcstream;help;soak;merge' {
            break
        }
        'grpcstream;help;completions' {
            break
        }
        'grpcstream;help;man' {
            break
        }
        'grpcstream;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
