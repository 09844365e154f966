
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
            cand completions 'Print a shell completion script to stdout'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'grpcstream;help;serve'= {
        }
        &'grpcstream;help;completions'= {
        }
        &'grpcstream;help;help'= {
        }
    ]
    $completions[$command]
}
