//! Quoting for the few SQL fragments that cannot be bind parameters (account names, schema
//! names, the password in `IDENTIFIED BY`). Values reach these functions already validated by
//! the core's newtypes; quoting is the second line of defence, not the first.

/// A string literal: `'` and `\` escaped, so the text can never end the literal (valid with and
/// without `NO_BACKSLASH_ESCAPES`, since doubling the quote works in both).
pub(crate) fn literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            _ => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// An identifier in backticks, with backticks doubled.
pub(crate) fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// A database name as the target of `GRANT … ON db.*`, where `_` and `%` are wildcards unless
/// escaped: each is escaped so the grant covers exactly this schema.
pub(crate) fn grant_db(name: &str) -> String {
    ident(
        &name
            .replace('\\', "\\\\")
            .replace('_', "\\_")
            .replace('%', "\\%"),
    )
}

/// `'user'@'host'`.
pub(crate) fn account(user: &str, host: &str) -> String {
    format!("{}@{}", literal(user), literal(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_cannot_be_closed_from_inside() {
        assert_eq!(literal("bob"), "'bob'");
        assert_eq!(
            literal("a'; DROP USER root; --"),
            "'a''; DROP USER root; --'"
        );
        assert_eq!(literal("a\\'b"), "'a\\\\''b'");
    }

    #[test]
    fn identifiers_double_backticks() {
        assert_eq!(ident("orders"), "`orders`");
        assert_eq!(
            ident("a`; DROP DATABASE x; --"),
            "`a``; DROP DATABASE x; --`"
        );
    }

    #[test]
    fn grant_targets_escape_wildcards() {
        assert_eq!(grant_db("shop_eu"), "`shop\\_eu`");
        assert_eq!(grant_db("a%b"), "`a\\%b`");
    }

    #[test]
    fn accounts_quote_both_parts() {
        assert_eq!(account("keisuke.owato", "%"), "'keisuke.owato'@'%'");
    }
}
