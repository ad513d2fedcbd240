//! The scopes a request needs (`auth.method_scopes`, `auth.tool_scopes`) and whether a
//! principal holds them. A granted scope covers those below it: `mcp` covers `mcp:tools`.

use std::collections::BTreeSet;

use switchyard_protocol::jsonrpc::{Body, Message};

use super::{AuthConfig, AuthMode, Principal};
use crate::http::{HttpError, Refusal};

/// Whether `granted` covers `needed`: equal, or `needed` lies below it (`granted:` prefix).
pub fn covers(granted: &str, needed: &str) -> bool {
    needed == granted
        || needed
            .strip_prefix(granted)
            .is_some_and(|rest| rest.starts_with(':'))
}

/// Every scope the requests of `body` need.
pub fn needed(config: &AuthConfig, body: &Body) -> BTreeSet<String> {
    let mut needed = BTreeSet::new();
    let mut add = |list: Option<&Vec<String>>| needed.extend(list.into_iter().flatten().cloned());
    let mut each = |m: &Message| {
        if let Message::Request(r) = m {
            add(config.method_scopes.get(&r.method));
            if r.method == "tools/call"
                && let Some(tool) = r.param_str("name")
            {
                add(config.tool_scopes.get(tool));
            }
        }
    };
    match body {
        Body::Single(Ok(m)) => each(m),
        Body::Batch(items) => items.iter().flatten().for_each(&mut each),
        Body::Single(Err(_)) => {}
    }
    needed
}

/// 403 with an `insufficient_scope` challenge naming every scope `body` needs, when
/// `principal` lacks any of them. Nothing is checked in mode `none`.
pub fn check(config: &AuthConfig, principal: &Principal, body: &Body) -> Result<(), HttpError> {
    if config.mode == AuthMode::None
        || (config.method_scopes.is_empty() && config.tool_scopes.is_empty())
    {
        return Ok(());
    }
    let needed = needed(config, body);
    let lacking = needed
        .iter()
        .any(|n| !principal.scopes.iter().any(|g| covers(g, n)));
    if !lacking {
        return Ok(());
    }
    let scope = needed.into_iter().collect::<Vec<_>>().join(" ");
    Err(Refusal::InsufficientScope {
        challenge: format!(
            "Bearer realm=\"switchyard\", error=\"insufficient_scope\", scope=\"{scope}\""
        ),
        scope,
    }
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard_protocol::jsonrpc::classify;

    #[test]
    fn hierarchies_and_every_needed_scope() {
        assert!(covers("mcp", "mcp:tools"));
        assert!(covers("mcp:tools", "mcp:tools"));
        assert!(!covers("mcp:tools", "mcp"));
        assert!(!covers("mc", "mcp:tools"), "a prefix is not a parent");
        let mut config = AuthConfig {
            mode: AuthMode::ApiKey,
            ..AuthConfig::default()
        };
        config
            .method_scopes
            .insert("tools/call".into(), vec!["mcp:tools".into()]);
        config
            .tool_scopes
            .insert("create_client".into(), vec!["crm:write".into()]);
        let body = classify(
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"create_client"}}"#,
        )
        .unwrap();
        let who = |scopes: &[&str]| Principal {
            name: "p".into(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        };
        assert!(check(&config, &who(&["mcp", "crm:write"]), &body).is_ok());
        let refused = check(&config, &who(&["mcp"]), &body).unwrap_err();
        match refused.refusal() {
            Refusal::InsufficientScope { scope, .. } => assert_eq!(scope, "crm:write mcp:tools"),
            other => panic!("{other:?}"),
        }
        let ping = classify(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#).unwrap();
        assert!(
            check(&config, &who(&[]), &ping).is_ok(),
            "ping needs nothing"
        );
        config.mode = AuthMode::None;
        assert!(check(&config, &who(&[]), &body).is_ok(), "not in mode none");
    }
}
