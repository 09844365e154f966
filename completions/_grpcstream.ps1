
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
            [CompletionResult]::new('--workers', '--workers', [CompletionResultType]::ParameterName, 'Runtime worker threads [default: one per CPU core]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log at debug level, including every message''s content')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log at debug level, including every message''s content')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Run the echo server (the four streaming RPCs of api.stream.v1.EchoService)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
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
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read settings from this TOML file (flags > environment > file > defaults)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format, on stderr')
            [CompletionResult]::new('--workers', '--workers', [CompletionResultType]::ParameterName, 'Runtime worker threads [default: one per CPU core]')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log at debug level, including every message''s content')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log at debug level, including every message''s content')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'grpcstream;completions' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Read settings from this TOML file (flags > environment > file > defaults)')
            [CompletionResult]::new('--log-format', '--log-format', [CompletionResultType]::ParameterName, 'Log line format, on stderr')
            [CompletionResult]::new('--workers', '--workers', [CompletionResultType]::ParameterName, 'Runtime worker threads [default: one per CPU core]')
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
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'grpcstream;help;serve' {
            break
        }
        'grpcstream;help;completions' {
            break
        }
        'grpcstream;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
