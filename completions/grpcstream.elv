
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
            cand --workers 'Runtime worker threads [default: one per CPU core]'
            cand -v 'Log at debug level, including every message''s content'
            cand --verbose 'Log at debug level, including every message''s content'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand serve 'Run the echo server (the four streaming RPCs of api.stream.v1.EchoService)'
            cand probe 'Call a server''s streaming RPCs and check every reply; the exit code tells the result'
            cand completions 'Print a shell completion script to stdout'
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
            cand --config 'Read settings from this TOML file (flags > environment > file > defaults)'
            cand --log-format 'Log line format, on stderr'
            cand --workers 'Runtime worker threads [default: one per CPU core]'
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
            cand --server-stream-count 'Replies expected from EchoServerStream (the server''s --server-stream-count)'
            cand --output 'Result format on stdout (logs go to stderr)'
            cand --header 'Metadata sent with every RPC, as `key=value`; repeat for more'
            cand --config 'Read settings from this TOML file (flags > environment > file > defaults)'
            cand --log-format 'Log line format, on stderr'
            cand --workers 'Runtime worker threads [default: one per CPU core]'
            cand --once 'Probe once and exit; without it, probe repeatedly until Ctrl+C, then print a summary'
            cand -v 'Log at debug level, including every message''s content'
            cand --verbose 'Log at debug level, including every message''s content'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'grpcstream;completions'= {
            cand --config 'Read settings from this TOML file (flags > environment > file > defaults)'
            cand --log-format 'Log line format, on stderr'
            cand --workers 'Runtime worker threads [default: one per CPU core]'
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
            cand completions 'Print a shell completion script to stdout'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'grpcstream;help;serve'= {
        }
        &'grpcstream;help;probe'= {
        }
        &'grpcstream;help;completions'= {
        }
        &'grpcstream;help;help'= {
        }
    ]
    $completions[$command]
}
