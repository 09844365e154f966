# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_grpcstream_global_optspecs
    string join \n config= log-format= v/verbose workers= h/help V/version
end

function __fish_grpcstream_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_grpcstream_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_grpcstream_using_subcommand
    set -l cmd (__fish_grpcstream_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c grpcstream -n "__fish_grpcstream_needs_command" -l config -d 'Read settings from this TOML file (flags > environment > file > defaults)' -r -F
complete -c grpcstream -n "__fish_grpcstream_needs_command" -l log-format -d 'Log line format, on stderr' -r -f -a "text\t''
json\t''"
complete -c grpcstream -n "__fish_grpcstream_needs_command" -l workers -d 'Runtime worker threads [default: one per CPU core]; with one, everything runs on one thread' -r
complete -c grpcstream -n "__fish_grpcstream_needs_command" -s v -l verbose -d 'Log at debug level, including every message\'s content'
complete -c grpcstream -n "__fish_grpcstream_needs_command" -s h -l help -d 'Print help'
complete -c grpcstream -n "__fish_grpcstream_needs_command" -s V -l version -d 'Print version'
complete -c grpcstream -n "__fish_grpcstream_needs_command" -f -a "serve" -d 'Run the echo server (the four streaming RPCs of api.stream.v1.EchoService)'
complete -c grpcstream -n "__fish_grpcstream_needs_command" -f -a "probe" -d 'Call a server\'s streaming RPCs and check every reply; the exit code tells the result'
complete -c grpcstream -n "__fish_grpcstream_needs_command" -f -a "soak" -d 'Load-test streaming: latency histograms, throughput, integrity, pass/fail gates'
complete -c grpcstream -n "__fish_grpcstream_needs_command" -f -a "completions" -d 'Print a shell completion script to stdout'
complete -c grpcstream -n "__fish_grpcstream_needs_command" -f -a "man" -d 'Print the man page (roff) to stdout'
complete -c grpcstream -n "__fish_grpcstream_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -l port -d 'TCP port to listen on (0 picks a free one; the start-up line says which)' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -l listen -d 'IP address to listen on: `[::]` (all, IPv6 and IPv4), `0.0.0.0`, `127.0.0.1`, `[::1]`' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -l max-message-size -d 'Largest message accepted or sent, both directions; larger ones fail with RESOURCE_EXHAUSTED' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -l grace -d 'On SIGINT/SIGTERM, how long in-flight RPCs may run on before they are cancelled' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -l server-stream-count -d 'EchoServerStream: replies per request' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -l server-stream-interval -d 'EchoServerStream: pause between two replies' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -l async-queue -d 'EchoBidirectionalStreamAsync: capacity of the queue between receiver and worker' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -l async-delay -d 'EchoBidirectionalStreamAsync: processing time per message before its reply' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -l tls-cert -d 'Serve TLS with this PEM certificate (chain) (with --tls-key)' -r -F
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -l tls-key -d 'PEM private key of --tls-cert' -r -F
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -l tls-client-ca -d 'Require client certificates signed by this PEM CA (mutual TLS); others are refused' -r -F
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -l auth-token-file -d 'Require `authorization: Bearer <token>` on every RPC but health checks, with the token in this file' -r -F
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -l compression -d 'Compress replies to clients that accept it (requests are accepted in gzip and zstd)' -r -f -a "none\t''
gzip\t''
zstd\t''"
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -l max-connections -d 'Open connections at most; further ones are closed at once' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -l max-concurrent-streams -d 'Streams (RPCs) at once on one connection; more wait for a free slot (HTTP/2 SETTINGS)' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -l handshake-timeout -d 'A connection must start HTTP/2 within this, or it is closed (slow or silent clients)' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -l keepalive-interval -d 'Send an HTTP/2 PING after this long without traffic from the client…' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -l keepalive-timeout -d '…and close the connection when its answer takes longer than this' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -l stream-window -d 'HTTP/2 flow-control window of each stream: what one stream may buffer unread' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -l connection-window -d 'HTTP/2 flow-control window of each connection, all its streams together' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -l max-rpc-duration -d 'End any RPC still running after this with DEADLINE_EXCEEDED [default: no limit]' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -l chaos-rate -d 'Fail this fraction of RPCs on purpose (half UNAVAILABLE, half stream resets), to test clients\' retries' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -l metrics-listen -d 'Serve Prometheus metrics over HTTP at this address (e.g. 127.0.0.1:9100) [default: off]' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -l config -d 'Read settings from this TOML file (flags > environment > file > defaults)' -r -F
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -l log-format -d 'Log line format, on stderr' -r -f -a "text\t''
json\t''"
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -l workers -d 'Runtime worker threads [default: one per CPU core]; with one, everything runs on one thread' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -l no-reflection -d 'Do not serve gRPC server reflection (grpcurl list/describe)'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -s v -l verbose -d 'Log at debug level, including every message\'s content'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -s h -l help -d 'Print help'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand serve" -s V -l version -d 'Print version'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand probe" -l server -d 'The server: `host:port`, `http://host:port` or `https://host:port` (TLS)' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand probe" -l messages -d 'Messages per call for client-stream, bidi-sync and bidi-async [default: 3]' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand probe" -l message-gap -d 'Pause between two messages of a call [default: 500ms client-stream, 1s bidi-sync, 800ms bidi-async]' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand probe" -l interval -d 'Pause between two probes of a pattern when repeating [default: 5s client-stream, 4s server-stream, 6s bidi-sync, 7s bidi-async]' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand probe" -l timeout -d 'Deadline of every RPC' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand probe" -l connect-timeout -d 'Deadline for establishing the connection' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand probe" -l hold -d '`probe conformance`: how long the long-lived stream case holds its stream open' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand probe" -l max-message-size -d '`probe conformance`: the server\'s message size limit; one byte more must be refused' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand probe" -l service -d '`probe health`: the service to check [default: "", the whole server]' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand probe" -l server-stream-count -d 'Replies expected from EchoServerStream (the server\'s --server-stream-count)' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand probe" -l output -d 'Result format on stdout (logs go to stderr)' -r -f -a "text\t'One line per probe and a summary table'
json\t'One JSON object per probe and a summary object, newline-delimited'"
complete -c grpcstream -n "__fish_grpcstream_using_subcommand probe" -l header -d 'Metadata sent with every RPC, as `key=value`; repeat for more' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand probe" -l auth-token-file -d 'Send `authorization: Bearer <token>` with the token in this file' -r -F
complete -c grpcstream -n "__fish_grpcstream_using_subcommand probe" -l compression -d 'Compress the messages sent (replies are accepted in gzip and zstd whatever this says)' -r -f -a "none\t''
gzip\t''
zstd\t''"
complete -c grpcstream -n "__fish_grpcstream_using_subcommand probe" -l ca-cert -d 'PEM file of the CA that signed the server\'s certificate [default: the system\'s roots]' -r -F
complete -c grpcstream -n "__fish_grpcstream_using_subcommand probe" -l client-cert -d 'PEM certificate to present to a server that requires mutual TLS (with --client-key)' -r -F
complete -c grpcstream -n "__fish_grpcstream_using_subcommand probe" -l client-key -d 'PEM private key of --client-cert' -r -F
complete -c grpcstream -n "__fish_grpcstream_using_subcommand probe" -l tls-server-name -d 'Name to verify the server\'s certificate against [default: the host of --server]' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand probe" -l config -d 'Read settings from this TOML file (flags > environment > file > defaults)' -r -F
complete -c grpcstream -n "__fish_grpcstream_using_subcommand probe" -l log-format -d 'Log line format, on stderr' -r -f -a "text\t''
json\t''"
complete -c grpcstream -n "__fish_grpcstream_using_subcommand probe" -l workers -d 'Runtime worker threads [default: one per CPU core]; with one, everything runs on one thread' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand probe" -l once -d 'Probe once and exit; without it, probe repeatedly until Ctrl+C, then print a summary'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand probe" -l insecure-skip-verify -d 'Accept any server certificate. Only for test servers: anyone in the path can read and change the traffic'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand probe" -s v -l verbose -d 'Log at debug level, including every message\'s content'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand probe" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand probe" -s V -l version -d 'Print version'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l server -d 'The server to soak (`host:port`, `http://…`, `https://…`); without it, an embedded server on 127.0.0.1 with no demo delays' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l pattern -d 'The RPC every stream uses' -r -f -a "client-stream\t''
server-stream\t''
bidi-sync\t''
bidi-async\t''
mix\t'Patterns drawn per stream with the weights of --mix'"
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l mix -d 'Weights for --pattern mix, e.g. `bidi-sync=70,client-stream=30` [default: all four equal]' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l concurrency -d 'Streams in flight at once' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l connections -d 'HTTP/2 connections the streams are spread over' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l duration -d 'How long to measure, after the warm-up' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l streams -d 'Stop after this many streams instead of after --duration' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l warmup -d 'Load applied before measuring starts, excluded from the results' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l messages-per-stream -d 'Messages each stream sends (server-stream: replies it expects from the embedded server)' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l stream-duration -d 'Keep each stream open this long instead (long-lived streams)' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l message-size -d 'Length of each message (the integrity header takes the first ~30 bytes)' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l rate -d 'Messages per second in total, paced open-loop (latency counts from the intended send time); without it, each stream sends as fast as the server takes messages' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l in-flight -d 'Bidi streams: at most N messages awaiting their echo (1: ping-pong, the next message only after the echo of the last) [default: as many as HTTP/2 flow control lets through]' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l timeout -d 'Deadline of each stream (added to --stream-duration for long-lived streams)' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l connect-timeout -d 'Deadline for establishing a connection' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l server-stream-count -d 'Replies an external server sends per EchoServerStream call (its --server-stream-count)' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l output -d '`text` or `json` on stdout; `json FILE` writes the JSON report to FILE and the table to stdout' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l max-p99 -d 'Fail (exit 1) when the p99 latency is above this' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l max-error-rate -d 'Fail (exit 1) when more than this percentage of streams failed' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l min-throughput -d 'Fail (exit 1) when fewer messages per second came back' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l header -d 'Metadata sent with every RPC, as `key=value`; repeat for more' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l auth-token-file -d 'Send `authorization: Bearer <token>` with the token in this file' -r -F
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l compression -d 'Compress the messages sent (replies are accepted in gzip and zstd whatever this says)' -r -f -a "none\t''
gzip\t''
zstd\t''"
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l ca-cert -d 'PEM file of the CA that signed the server\'s certificate [default: the system\'s roots]' -r -F
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l client-cert -d 'PEM certificate to present to a server that requires mutual TLS (with --client-key)' -r -F
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l client-key -d 'PEM private key of --client-cert' -r -F
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l tls-server-name -d 'Name to verify the server\'s certificate against [default: the host of --server]' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l config -d 'Read settings from this TOML file (flags > environment > file > defaults)' -r -F
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l log-format -d 'Log line format, on stderr' -r -f -a "text\t''
json\t''"
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l workers -d 'Runtime worker threads [default: one per CPU core]; with one, everything runs on one thread' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -l insecure-skip-verify -d 'Accept any server certificate. Only for test servers: anyone in the path can read and change the traffic'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -s v -l verbose -d 'Log at debug level, including every message\'s content'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -s V -l version -d 'Print version'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -f -a "merge" -d 'Combine JSON reports of several runs (e.g. from several machines) into one, with exact percentiles'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and not __fish_seen_subcommand_from merge help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and __fish_seen_subcommand_from merge" -l output -d '`text` or `json` on stdout; `json FILE` writes the merged report to FILE' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and __fish_seen_subcommand_from merge" -l config -d 'Read settings from this TOML file (flags > environment > file > defaults)' -r -F
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and __fish_seen_subcommand_from merge" -l log-format -d 'Log line format, on stderr' -r -f -a "text\t''
json\t''"
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and __fish_seen_subcommand_from merge" -l workers -d 'Runtime worker threads [default: one per CPU core]; with one, everything runs on one thread' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and __fish_seen_subcommand_from merge" -s v -l verbose -d 'Log at debug level, including every message\'s content'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and __fish_seen_subcommand_from merge" -s h -l help -d 'Print help'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and __fish_seen_subcommand_from merge" -s V -l version -d 'Print version'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and __fish_seen_subcommand_from help" -f -a "merge" -d 'Combine JSON reports of several runs (e.g. from several machines) into one, with exact percentiles'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand soak; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand completions" -l config -d 'Read settings from this TOML file (flags > environment > file > defaults)' -r -F
complete -c grpcstream -n "__fish_grpcstream_using_subcommand completions" -l log-format -d 'Log line format, on stderr' -r -f -a "text\t''
json\t''"
complete -c grpcstream -n "__fish_grpcstream_using_subcommand completions" -l workers -d 'Runtime worker threads [default: one per CPU core]; with one, everything runs on one thread' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand completions" -s v -l verbose -d 'Log at debug level, including every message\'s content'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand completions" -s h -l help -d 'Print help'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand completions" -s V -l version -d 'Print version'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand man" -l config -d 'Read settings from this TOML file (flags > environment > file > defaults)' -r -F
complete -c grpcstream -n "__fish_grpcstream_using_subcommand man" -l log-format -d 'Log line format, on stderr' -r -f -a "text\t''
json\t''"
complete -c grpcstream -n "__fish_grpcstream_using_subcommand man" -l workers -d 'Runtime worker threads [default: one per CPU core]; with one, everything runs on one thread' -r
complete -c grpcstream -n "__fish_grpcstream_using_subcommand man" -s v -l verbose -d 'Log at debug level, including every message\'s content'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand man" -s h -l help -d 'Print help'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand man" -s V -l version -d 'Print version'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand help; and not __fish_seen_subcommand_from serve probe soak completions man help" -f -a "serve" -d 'Run the echo server (the four streaming RPCs of api.stream.v1.EchoService)'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand help; and not __fish_seen_subcommand_from serve probe soak completions man help" -f -a "probe" -d 'Call a server\'s streaming RPCs and check every reply; the exit code tells the result'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand help; and not __fish_seen_subcommand_from serve probe soak completions man help" -f -a "soak" -d 'Load-test streaming: latency histograms, throughput, integrity, pass/fail gates'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand help; and not __fish_seen_subcommand_from serve probe soak completions man help" -f -a "completions" -d 'Print a shell completion script to stdout'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand help; and not __fish_seen_subcommand_from serve probe soak completions man help" -f -a "man" -d 'Print the man page (roff) to stdout'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand help; and not __fish_seen_subcommand_from serve probe soak completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c grpcstream -n "__fish_grpcstream_using_subcommand help; and __fish_seen_subcommand_from soak" -f -a "merge" -d 'Combine JSON reports of several runs (e.g. from several machines) into one, with exact percentiles'
