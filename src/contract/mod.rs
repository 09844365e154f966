//! The reply texts of `api.stream.v1.EchoService`, as the original demo wrote them. The
//! server produces them and the probe checks them, from this one definition.

mod summary;

pub use summary::{client_stream_summary, python_str_repr};

/// The four streaming RPCs, by the names the CLI and the reports use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pattern {
    ClientStream,
    ServerStream,
    BidiSync,
    BidiAsync,
}

impl Pattern {
    pub const ALL: [Pattern; 4] = [
        Pattern::ClientStream,
        Pattern::ServerStream,
        Pattern::BidiSync,
        Pattern::BidiAsync,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Pattern::ClientStream => "client-stream",
            Pattern::ServerStream => "server-stream",
            Pattern::BidiSync => "bidi-sync",
            Pattern::BidiAsync => "bidi-async",
        }
    }

    /// The HTTP/2 path of the pattern's RPC.
    pub fn path(self) -> &'static str {
        match self {
            Pattern::ClientStream => "/api.stream.v1.EchoService/EchoClientStream",
            Pattern::ServerStream => "/api.stream.v1.EchoService/EchoServerStream",
            Pattern::BidiSync => "/api.stream.v1.EchoService/EchoBidirectionalStreamSync",
            Pattern::BidiAsync => "/api.stream.v1.EchoService/EchoBidirectionalStreamAsync",
        }
    }
}

impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// What precedes the echoed message in the bidi replies.
pub const SYNC_PREFIX: &str = "Sync Echo: ";
pub const ASYNC_PREFIX: &str = "Async Echo (processed): ";

pub fn server_stream_reply(i: u32, message: &str) -> String {
    format!("Echo #{i}: {message}")
}

/// `Echo #i: <message>` → `(i, message)`.
pub fn parse_server_stream_reply(reply: &str) -> Option<(u64, &str)> {
    let (i, message) = reply.strip_prefix("Echo #")?.split_once(": ")?;
    Some((i.parse().ok()?, message))
}

pub fn sync_reply(message: &str) -> String {
    format!("{SYNC_PREFIX}{message}")
}

pub fn async_reply(message: &str) -> String {
    format!("{ASYNC_PREFIX}{message}")
}

/// The client-stream summary of the original Go server: Go's `%v` of a `[]string`,
/// items separated by one space and not quoted (`Received 2 messages: [a b]`).
pub fn go_client_stream_summary(messages: &[String]) -> String {
    format!(
        "Received {} messages: [{}]",
        messages.len(),
        messages.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_stream_replies_parse_back() {
        assert_eq!(
            parse_server_stream_reply(&server_stream_reply(3, "a: b")),
            Some((3, "a: b"))
        );
        assert_eq!(parse_server_stream_reply("Echo #x: a"), None);
        assert_eq!(parse_server_stream_reply("Echo #1:a"), None);
    }

    #[test]
    fn go_form_is_space_separated_and_unquoted() {
        let messages = vec!["a".to_owned(), "it's".to_owned()];
        assert_eq!(
            go_client_stream_summary(&messages),
            "Received 2 messages: [a it's]"
        );
        assert_eq!(go_client_stream_summary(&[]), "Received 0 messages: []");
    }
}
