
use builtin;
use str;

set edit:completion:arg-completer[grpcstream] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'grpcstream'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'grpcstream'= {
            cand --config 'Read settings from this TOML file (flags > environment > file > defaults)'
            cand --log-format 'Log line format, on stderr'
            cand --workers 'Runtime worker threads [default: one per CPU core]; with one, everything runs on one thread'
            cand -v 'Log at debug level, including every message''s content'
            cand --verbose 'Log at debug level, including every message''s content'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand serve 'Run the echo server (the four streaming RPCs of api.stream.v1.EchoService)'
            cand probe 'Call a server''s streaming RPCs and check every reply; the exit code tells the result'
            cand soak 'Load-test streaming: latency histograms, throughput, integrity, pass/fail gates'
            cand completions 'Print a shell completion script to stdout'
            cand man 'Print the man page (roff) to stdout'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'grpcstream;serve'= {
            cand --port 'TCP port to listen on (0 picks a free one; the start-up line says which)'
            cand --listen 'IP address to listen on: `[::]` (all, IPv6 and IPv4), `0.0.0.0`, `127.0.0.1`, `[::1]`'
            cand --max-message-size 'Largest message accepted or sent, both directions; larger ones fail with RESOURCE_EXHAUSTED'
            cand --grace 'On SIGINT/SIGTERM, how long in-flight RPCs may run on before they are cancelled'
            cand --server-stream-count 'EchoServerStream: replies per request'
            cand --server-stream-interval 'EchoServerStream: pause between two replies'
            cand --async-queue 'EchoBidirectionalStreamAsync: capacity of the queue between receiver and worker'
            cand --async-delay 'EchoBidirectionalStreamAsync: processing time per message before its reply'
            cand --tls-cert 'Serve TLS with this PEM certificate (chain) (with --tls-key)'
            cand --tls-key 'PEM private key of --tls-cert'
            cand --tls-client-ca 'Require client certificates signed by this PEM CA (mutual TLS); others are refused'
            cand --auth-token-file 'Require `authorization: Bearer <token>` on every RPC but health checks, with the token in this file'
            cand --compression 'Compress replies to clients that accept it (requests are accepted in gzip and zstd)'
            cand --max-connections 'Open connections at most; further ones are closed at once'
            cand --max-concurrent-streams 'Streams (RPCs) at once on one connection; more wait for a free slot (HTTP/2 SETTINGS)'
            cand --handshake-timeout 'A connection must start HTTP/2 within this, or it is closed (slow or silent clients)'
            cand --keepalive-interval 'Send an HTTP/2 PING after this long without traffic from the client…'
            cand --keepalive-timeout '…and close the connection when its answer takes longer than this'
            cand --stream-window 'HTTP/2 flow-control window of each stream: what one stream may buffer unread'
            cand --connection-window 'HTTP/2 flow-control window of each connection, all its streams together'
            cand --max-rpc-duration 'End any RPC still running after this with DEADLINE_EXCEEDED [default: no limit]'
            cand --chaos-rate 'Fail this fraction of RPCs on purpose (half UNAVAILABLE, half stream resets), to test clients'' retries'
            cand --metrics-listen 'Serve Prometheus metrics over HTTP at this address (e.g. 127.0.0.1:9100) [default: off]'
            cand --config 'Read settings from this TOML file (flags > environment > file > defaults)'
            cand --log-format 'Log line format, on stderr'
            cand --workers 'Runtime worker threads [default: one per CPU core]; with one, everything runs on one thread'
            cand --no-reflection 'Do not serve gRPC server reflection (grpcurl list/describe)'
            cand -v 'Log at debug level, including every message''s content'
            cand --verbose 'Log at debug level, including every message''s content'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'grpcstream;probe'= {
            cand --server 'The server: `host:port`, `http://host:port` or `https://host:port` (TLS)'
            cand --messages 'Messages per call for client-stream, bidi-sync and bidi-async [default: 3]'
            cand --message-gap 'Pause between two messages of a call [default: 500ms client-stream, 1s bidi-sync, 800ms bidi-async]'
            cand --interval 'Pause between two probes of a pattern when repeating [default: 5s client-stream, 4s server-stream, 6s bidi-sync, 7s bidi-async]'
            cand --timeout 'Deadline of every RPC'
            cand --connect-timeout 'Deadline for establishing the connection'
            cand --hold '`probe conformance`: how long the long-lived stream case holds its stream open'
            cand --max-message-size '`probe conformance`: the server''s message size limit; one byte more must be refused'
            cand --service '`probe health`: the service to check [default: "", the whole server]'
            cand --server-stream-count 'Replies expected from EchoServerStream (the server''s --server-stream-count)'
            cand --output 'Result format on stdout (logs go to stderr)'
            cand --header 'Metadata sent with every RPC, as `key=value`; repeat for more'
            cand --auth-token-file 'Send `authorization: Bearer <token>` with the token in this file'
            cand --compression 'Compress the messages sent (replies are accepted in gzip and zstd whatever this says)'
            cand --ca-cert 'PEM file of the CA that signed the server''s certificate [default: the system''s roots]'
            cand --client-cert 'PEM certificate to present to a server that requires mutual TLS (with --client-key)'
            cand --client-key 'PEM private key of --client-cert'
            cand --tls-server-name 'Name to verify the server''s certificate against [default: the host of --server]'
            cand --config 'Read settings from this TOML file (flags > environment > file > defaults)'
            cand --log-format 'Log line format, on stderr'
            cand --workers 'Runtime worker threads [default: one per CPU core]; with one, everything runs on one thread'
            cand --once 'Probe once and exit; without it, probe repeatedly until Ctrl+C, then print a summary'
            cand --insecure-skip-verify 'Accept any server certificate. Only for test servers: anyone in the path can read and change the traffic'
            cand -v 'Log at debug level, including every message''s content'
            cand --verbose 'Log at debug level, including every message''s content'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'grpcstream;soak'= {
            cand --server 'The server to soak (`host:port`, `http://…`, `https://…`); without it, an embedded server on 127.0.0.1 with no demo delays'
            cand --pattern 'The RPC every stream uses'
            cand --mix 'Weights for --pattern mix, e.g. `bidi-sync=70,client-stream=30` [default: all four equal]'
            cand --concurrency 'Streams in flight at once'
            cand --connections 'HTTP/2 connections the streams are spread over'
            cand --duration 'How long to measure, after the warm-up'
            cand --streams 'Stop after this many streams instead of after --duration'
            cand --warmup 'Load applied before measuring starts, excluded from the results'
            cand --messages-per-stream 'Messages each stream sends (server-stream: replies it expects from the embedded server)'
            cand --stream-duration 'Keep each stream open this long instead (long-lived streams)'
            cand --message-size 'Length of each message (the integrity header takes the first ~30 bytes)'
            cand --rate 'Messages per second in total, paced open-loop (latency counts from the intended send time); without it, each stream sends as fast as the server takes messages'
            cand --in-flight 'Bidi streams: at most N messages awaiting their echo (1: ping-pong, the next message only after the echo of the last) [default: as many as HTTP/2 flow control lets through]'
            cand --timeout 'Deadline of each stream (added to --stream-duration for long-lived streams)'
            cand --connect-timeout 'Deadline for establishing a connection'
            cand --server-stream-count 'Replies an external server sends per EchoServerStream call (its --server-stream-count)'
            cand --output '`text` or `json` on stdout; `json FILE` writes the JSON report to FILE and the table to stdout'
            cand --max-p99 'Fail (exit 1) when the p99 latency is above this'
            cand --max-error-rate 'Fail (exit 1) when more than this percentage of streams failed'
            cand --min-throughput 'Fail (exit 1) when fewer messages per second came back'
            cand --header 'Metadata sent with every RPC, as `key=value`; repeat for more'
            cand --auth-token-file 'Send `authorization: Bearer <token>` with the token in this file'
            cand --compression 'Compress the messages sent (replies are accepted in gzip and zstd whatever this says)'
            cand --ca-cert 'PEM file of the CA that signed the server''s certificate [default: the system''s roots]'
            cand --client-cert 'PEM certificate to present to a server that requires mutual TLS (with --client-key)'
            cand --client-key 'PEM private key of --client-cert'
            cand --tls-server-name 'Name to verify the server''s certificate against [default: the host of --server]'
            cand --config 'Read settings from this TOML file (flags > environment > file > defaults)'
            cand --log-format 'Log line format, on stderr'
            cand --workers 'Runtime worker threads [default: one per CPU core]; with one, everything runs on one thread'
            cand --insecure-skip-verify 'Accept any server certificate. Only for test servers: anyone in the path can read and change the traffic'
            cand -v 'Log at debug level, including every message''s content'
            cand --verbose 'Log at debug level, including every message''s content'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand merge 'Combine JSON reports of several runs (e.g. from several machines) into one, with exact percentiles'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'grpcstream;soak;merge'= {
            cand --output '`text` or `json` on stdout; `json FILE` writes the merged report to FILE'
            cand --config 'Read settings from this TOML file (flags > environment > file > defaults)'
            cand --log-format 'Log line format, on stderr'
            cand --workers 'Runtime worker threads [default: one per CPU core]; with one, everything runs on one thread'
            cand -v 'Log at debug level, including every message''s content'
            cand --verbose 'Log at debug level, including every message''s content'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'grpcstream;soak;help'= {
            cand merge 'Combine JSON reports of several runs (e.g. from several machines) into one, with exact percentiles'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'grpcstream;soak;help;merge'= {
        }
        &'grpcstream;soak;help;help'= {
        }
        &'grpcstream;completions'= {
            cand --config 'Read settings from this TOML file (flags > environment > file > defaults)'
            cand --log-format 'Log line format, on stderr'
            cand --workers 'Runtime worker threads [default: one per CPU core]; with one, everything runs on one thread'
            cand -v 'Log at debug level, including every message''s content'
            cand --verbose 'Log at debug level, including every message''s content'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'grpcstream;man'= {
            cand --config 'Read settings from this TOML file (flags > environment > file > defaults)'
            cand --log-format 'Log line format, on stderr'
            cand --workers 'Runtime worker threads [default: one per CPU core]; with one, everything runs on one thread'
            cand -v 'Log at debug level, including every message''s content'
            cand --verbose 'Log at debug level, including every message''s content'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'grpcstream;help'= {
            cand serve 'Run the echo server (the four streaming RPCs of api.stream.v1.EchoService)'
            cand probe 'Call a server''s streaming RPCs and check every reply; the exit code tells the result'
            cand soak 'Load-test streaming: latency histograms, throughput, integrity, pass/fail gates'
            cand completions 'Print a shell completion script to stdout'
            cand man 'Print the man page (roff) to stdout'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'grpcstream;help;serve'= {
        }
        &'grpcstream;help;probe'= {
        }
        &'grpcstream;help;soak'= {
            cand merge 'Combine JSON reports of several runs (e.g. from several machines) into one, with exact percentiles'
        }
        &'grpcstream;help;soak;merge'= {
        }
        &'grpcstream;help;completions'= {
        }
        &'grpcstream;help;man'= {
        }
        &'grpcstream;help;help'= {
        }
    ]
    $completions[$command]
}
