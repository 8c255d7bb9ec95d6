//! The commands typed in an SSM session, read back from what the session printed.
//!
//! Session Manager streams a session's terminal output (`sessionData`, one line per element),
//! never its keystrokes; what a person typed is echoed after a prompt. [`commands`] cleans each
//! line the way a terminal would show it (escape sequences dropped, backspaces and carriage
//! returns applied) and keeps what follows a prompt it recognises:
//!
//! - a shell prompt: `sh-5.2$ `, `bash-4.2# ` (Session Manager's default `sh`),
//!   `[ssm-user@ip-10-0-1-5 ~]$ `, `ssm-user@host:~$ `;
//! - a MySQL or MariaDB client prompt: `mysql> `, `MariaDB [shop]> `, `MySQL [(none)]> `, with
//!   `    -> ` continuation lines joined to their statement.
//!
//! Program output is never kept. Every command has its secrets masked as [`MASK`]: passwords
//! given on a MySQL client's command line (`-p…`, `--password=…`), `NAME=value` assignments whose
//! name says password, secret or token, and the passwords of SQL typed at a client prompt
//! ([`mask_secrets`]).

use time::OffsetDateTime;

use super::sql::{MASK, mask_secrets};

/// The longest command a receipt keeps, in characters; longer ones are cut with `…`.
pub const COMMAND_CHARS: usize = 500;

/// Where a command was typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandKind {
    /// At the bastion's shell.
    Shell,
    /// At a MySQL or MariaDB client's prompt.
    Sql,
}

impl CommandKind {
    /// The kind's stable name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Shell => "shell",
            Self::Sql => "sql",
        }
    }
}

/// One command typed in an SSM session, its secrets masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCommand {
    /// When the line that shows it was logged.
    pub at: OffsetDateTime,
    /// Where it was typed.
    pub kind: CommandKind,
    /// The command, secrets masked, cut at [`COMMAND_CHARS`].
    pub text: String,
}

/// The commands typed in a session whose output lines, oldest first, are `lines` (each with the
/// time it was logged; an element holding several lines is split).
#[must_use]
pub fn commands<'a>(
    lines: impl IntoIterator<Item = (OffsetDateTime, &'a str)>,
) -> Vec<SessionCommand> {
    let mut found: Vec<SessionCommand> = Vec::new();
    let mut open_sql = false;
    for (at, chunk) in lines {
        for raw in chunk.split('\n') {
            let line = terminal_line(raw);
            if let Some(typed) = shell_command(&line) {
                open_sql = false;
                push(&mut found, at, CommandKind::Shell, typed);
            } else if let Some(typed) = sql_command(&line) {
                open_sql = !typed.trim_end().ends_with(';') && !typed.trim().is_empty();
                push(&mut found, at, CommandKind::Sql, typed);
            } else if let Some(more) = line.trim_start().strip_prefix("-> ")
                && open_sql
                && let Some(last) = found.last_mut()
            {
                last.text.push(' ');
                last.text.push_str(more.trim());
                open_sql = !more.trim_end().ends_with(';');
            } else if !line.trim().is_empty() {
                open_sql = false;
            }
        }
    }
    for command in &mut found {
        command.text = super::cut(&mask(command.kind, &command.text), COMMAND_CHARS);
    }
    found
}

fn push(found: &mut Vec<SessionCommand>, at: OffsetDateTime, kind: CommandKind, typed: &str) {
    let text = typed.trim();
    if !text.is_empty() {
        found.push(SessionCommand {
            at,
            kind,
            text: text.to_owned(),
        });
    }
}

/// `raw` as a terminal shows it: escape sequences (CSI, OSC, two-character) dropped, a
/// backspace removing the character before it, a carriage return starting the line again, other
/// control characters dropped.
fn terminal_line(raw: &str) -> String {
    let mut line = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.next() {
                Some('[') => while chars.next().is_some_and(|c| !('@'..='~').contains(&c)) {},
                Some(']') => {
                    while let Some(c) = chars.next() {
                        if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                }
                _ => {}
            },
            '\u{8}' | '\u{7f}' => {
                line.pop();
            }
            '\r' => {
                if chars.peek().is_some() {
                    line.clear();
                }
            }
            '\t' => line.push(' '),
            c if c.is_control() => {}
            c => line.push(c),
        }
    }
    line
}

/// What was typed after a shell prompt on `line`, if it starts with one.
fn shell_command(line: &str) -> Option<&str> {
    for shell in ["sh-", "bash-"] {
        if let Some(rest) = line.strip_prefix(shell) {
            let version = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            if version > 0 {
                return after_sigil(&rest[version..]);
            }
        }
    }
    if line.starts_with('[') {
        let close = line.find(']')?;
        return line[..close]
            .contains('@')
            .then(|| after_sigil(&line[close + 1..]))
            .flatten();
    }
    let end = line.find(['$', '#'])?;
    let prompt = &line[..end];
    (prompt.contains('@') && prompt.contains(':') && !prompt.contains(' '))
        .then(|| after_sigil(&line[end..]))
        .flatten()
}

/// The rest of `text` after a leading `$ ` or `# `.
fn after_sigil(text: &str) -> Option<&str> {
    text.strip_prefix("$ ").or_else(|| text.strip_prefix("# "))
}

/// What was typed after a MySQL or MariaDB client prompt on `line`, if it starts with one.
fn sql_command(line: &str) -> Option<&str> {
    if let Some(rest) = line.strip_prefix("mysql> ") {
        return Some(rest);
    }
    ["MariaDB [", "MySQL ["].iter().find_map(|client| {
        let rest = line.strip_prefix(client)?;
        let close = rest.find("]> ")?;
        Some(&rest[close + 3..])
    })
}

/// `text` with its secrets masked.
fn mask(kind: CommandKind, text: &str) -> String {
    match kind {
        CommandKind::Sql => mask_secrets(text),
        CommandKind::Shell => mask_shell(text),
    }
}

/// A shell command with the passwords on a MySQL client's command line, the values of
/// secret-named assignments and the passwords of quoted SQL masked.
fn mask_shell(text: &str) -> String {
    let words = shell_words(text);
    let client = words.iter().any(|&(start, end)| {
        let word = &text[start..end];
        let program = word.rsplit('/').next().unwrap_or(word);
        program.starts_with("mysql") || program.starts_with("mariadb")
    });
    let mut masked = String::with_capacity(text.len());
    let mut copied = 0;
    for &(start, end) in &words {
        let word = &text[start..end];
        let keep = if client && word.starts_with("-p") && word.len() > 2 {
            Some(2)
        } else if let Some(eq) = word.find('=') {
            let name = word[..eq].to_ascii_lowercase();
            (name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                && ["password", "passwd", "pwd", "secret", "token"]
                    .iter()
                    .any(|s| name.contains(s)))
            .then_some(eq + 1)
        } else {
            None
        };
        let replacement = match keep {
            Some(keep) => Some(format!("{}{MASK}", &word[..keep])),
            None => quoted_sql(word),
        };
        if let Some(replacement) = replacement {
            masked.push_str(&text[copied..start]);
            masked.push_str(&replacement);
            copied = end;
        }
    }
    masked.push_str(&text[copied..]);
    masked
}

/// A quoted shell word whose SQL has a password in it (`-e "SET PASSWORD = '…'"`), masked.
fn quoted_sql(word: &str) -> Option<String> {
    let quote = word.chars().next().filter(|&q| q == '\'' || q == '"')?;
    let inner = word.strip_prefix(quote)?.strip_suffix(quote)?;
    let masked = mask_secrets(inner);
    (masked != inner).then(|| format!("{quote}{masked}{quote}"))
}

/// The byte ranges of `text`'s shell words: split at unquoted blanks, quotes and backslash
/// escapes kept inside their word.
fn shell_words(text: &str) -> Vec<(usize, usize)> {
    let mut words = Vec::new();
    let mut start: Option<usize> = None;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"'), '\\') | (None, '\\') => {
                start.get_or_insert(i);
                escaped = true;
            }
            (Some(_), _) => {}
            (None, c) if c.is_whitespace() => {
                if let Some(s) = start.take() {
                    words.push((s, i));
                }
            }
            (None, c) => {
                start.get_or_insert(i);
                if c == '\'' || c == '"' {
                    quote = Some(c);
                }
            }
        }
    }
    if let Some(s) = start {
        words.push((s, text.len()));
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;
    use time::macros::datetime;

    fn typed(lines: &[&str]) -> Vec<(CommandKind, String)> {
        let start = datetime!(2026-12-04 10:00 UTC);
        commands(
            lines
                .iter()
                .enumerate()
                .map(|(i, l)| (start + Duration::seconds(i as i64), *l)),
        )
        .into_iter()
        .map(|c| (c.kind, c.text))
        .collect()
    }

    fn shell(text: &str) -> (CommandKind, String) {
        (CommandKind::Shell, text.to_owned())
    }

    fn sql(text: &str) -> (CommandKind, String) {
        (CommandKind::Sql, text.to_owned())
    }

    #[test]
    fn commands_after_each_shell_prompt_are_kept_and_output_is_not() {
        assert_eq!(
            typed(&[
                "sh-5.2$ whoami",
                "ssm-user",
                "sh-5.2$ ls /etc/pki/powerpole",
                "rds-ca.pem",
                "[ssm-user@ip-10-0-1-5 ~]$ cat /etc/hostname",
                "ip-10-0-1-5",
                "ssm-user@ip-10-0-1-5:~$ uptime",
                "bash-4.2# id",
                "sh-5.2$ ",
                "total 12 $ not a prompt",
            ]),
            vec![
                shell("whoami"),
                shell("ls /etc/pki/powerpole"),
                shell("cat /etc/hostname"),
                shell("uptime"),
                shell("id"),
            ]
        );
    }

    #[test]
    fn the_line_is_read_as_the_terminal_shows_it() {
        assert_eq!(
            typed(&[
                "\u{1b}[?2004hsh-5.2$ \u{1b}[01;32mls\u{1b}[0m -l\r",
                "\u{1b}]0;ssm-user@ip\u{7}sh-5.2$ rm -rf x\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}\u{8}echo hi\r",
                "sh-5.2$ histor\rsh-5.2$ history\r",
                "sh-5.2$ a\r\nsh-5.2$ b",
            ]),
            vec![
                shell("ls -l"),
                shell("echo hi"),
                shell("history"),
                shell("a"),
                shell("b"),
            ]
        );
    }

    #[test]
    fn statements_at_a_client_prompt_are_joined_across_continuation_lines() {
        assert_eq!(
            typed(&[
                "mysql> SELECT id",
                "    -> FROM shop.orders",
                "    -> LIMIT 1;",
                "+----+",
                "MariaDB [shop]> DELETE FROM carts;",
                "Query OK, 3 rows affected (0.01 sec)",
                "    -> not a continuation",
                "MySQL [(none)]> SHOW GRANTS",
            ]),
            vec![
                sql("SELECT id FROM shop.orders LIMIT 1;"),
                sql("DELETE FROM carts;"),
                sql("SHOW GRANTS"),
            ]
        );
    }

    #[test]
    fn passwords_typed_in_a_session_are_masked() {
        let got = typed(&[
            "sh-5.2$ mysql -h db -u alice -pHunter2 shop",
            "sh-5.2$ /usr/bin/mariadb --password='two words' -u alice",
            "sh-5.2$ MYSQL_PWD=Hunter2 mysql -u alice",
            "sh-5.2$ export API_TOKEN=abc123 DB_SECRET=\"x y\"",
            "sh-5.2$ grep -prn pattern .",
            "mysql> ALTER USER alice IDENTIFIED BY 'Hunter2';",
            "sh-5.2$ mysql -e \"SET PASSWORD = 'Hunter2'\"",
        ]);
        for (_, text) in &got {
            assert!(!text.contains("Hunter2"), "{text}");
            assert!(!text.contains("two words"), "{text}");
            assert!(!text.contains("abc123"), "{text}");
        }
        assert_eq!(
            got[0],
            shell(&format!("mysql -h db -u alice -p{MASK} shop"))
        );
        assert_eq!(
            got[1],
            shell(&format!("/usr/bin/mariadb --password={MASK} -u alice"))
        );
        assert_eq!(got[2], shell(&format!("MYSQL_PWD={MASK} mysql -u alice")));
        assert_eq!(
            got[3],
            shell(&format!("export API_TOKEN={MASK} DB_SECRET={MASK}"))
        );
        assert_eq!(got[4], shell("grep -prn pattern ."), "not a MySQL client");
        assert_eq!(
            got[5],
            sql(&format!("ALTER USER alice IDENTIFIED BY '{MASK}';"))
        );
        assert_eq!(
            got[6],
            shell(&format!("mysql -e \"SET PASSWORD = '{MASK}'\""))
        );
    }

    #[test]
    fn a_long_command_is_cut() {
        let long = format!("sh-5.2$ echo {}", "x".repeat(2 * COMMAND_CHARS));
        let got = typed(&[&long]);
        assert_eq!(got[0].1.chars().count(), COMMAND_CHARS + 1);
        assert!(got[0].1.ends_with('…'));
    }
}
