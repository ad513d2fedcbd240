//! The federation over in-process backends: names, routing, merged capabilities, pages.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};
use switchyard_backend::{Backend, Context, NoChanges, NoPeer, ServerInfo, SessionView};
use switchyard_protocol::jsonrpc::{ErrorObject, Id, Request};

use super::{Federation, Member};
use crate::config::NameMode;
use crate::names::MAX_NAME;

/// A backend with fixed tools that answers a call with its own name and the tool's.
struct Fixed {
    name: &'static str,
    tools: Vec<String>,
}

#[async_trait]
impl Backend for Fixed {
    fn info(&self) -> ServerInfo {
        ServerInfo {
            name: self.name.into(),
            version: "1".into(),
            title: None,
        }
    }
    fn capabilities(&self) -> Value {
        json!({"tools": {"listChanged": self.name == "b"}})
    }
    async fn handle(&self, request: Request, _ctx: Context) -> Result<Value, ErrorObject> {
        match request.method.as_str() {
            // Two pages, to check that every page of a member is read.
            "tools/list" => {
                let half = self.tools.len() / 2;
                let (page, next) = match request.param_str("cursor") {
                    None => (&self.tools[..half], Some("second")),
                    Some(_) => (&self.tools[half..], None),
                };
                let tools: Vec<Value> = page
                    .iter()
                    .map(|t| json!({"name": t, "inputSchema": {"type": "object"}}))
                    .collect();
                let mut r = json!({ "tools": tools });
                if let Some(n) = next {
                    r["nextCursor"] = json!(n);
                }
                Ok(r)
            }
            "tools/call" => Ok(json!({
                "content": [{"type": "text", "text": format!("{}:{}", self.name, request.param_str("name").unwrap_or(""))}]
            })),
            m => Err(ErrorObject::method_not_found(m)),
        }
    }
}

fn ctx() -> Context {
    let (tx, _rx) = tokio::sync::mpsc::channel(8);
    Context::new(
        SessionView::default(),
        tx,
        Arc::new(NoPeer),
        Arc::new(NoChanges),
    )
}

fn federation(mode: NameMode) -> Federation {
    let long = "t".repeat(70);
    let members = vec![
        Member {
            name: "a".into(),
            prefix: "a".into(),
            backend: Arc::new(Fixed {
                name: "a",
                tools: vec!["echo".into(), "add".into(), long.clone()],
            }),
        },
        Member {
            name: "b".into(),
            prefix: "b".into(),
            backend: Arc::new(Fixed {
                name: "b",
                tools: vec!["echo".into(), "only_b".into()],
            }),
        },
        Member {
            name: "c".into(),
            prefix: "c".into(),
            backend: Arc::new(Fixed {
                name: "c",
                tools: vec!["echo".into(), long],
            }),
        },
    ];
    Federation::new(members, "__", mode, Default::default())
}

async fn names(f: &Federation) -> Vec<String> {
    let list = f
        .handle(Request::new(Id::Number(1), "tools/list", None), ctx())
        .await
        .expect("tools/list");
    list["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| t["name"].as_str().expect("name").to_owned())
        .collect()
}

async fn call(f: &Federation, name: &str) -> Result<String, ErrorObject> {
    let params = json!({"name": name, "arguments": {}});
    let r = f
        .handle(
            Request::new(Id::Number(2), "tools/call", params.as_object().cloned()),
            ctx(),
        )
        .await?;
    Ok(r["content"][0]["text"].as_str().expect("text").to_owned())
}

#[tokio::test]
async fn colliding_and_long_names_are_unique_short_and_stable() {
    let f = federation(NameMode::Prefixed);
    let got = names(&f).await;
    assert_eq!(got.len(), 7, "{got:?}");
    let unique: std::collections::BTreeSet<&String> = got.iter().collect();
    assert_eq!(unique.len(), got.len(), "names must be unique: {got:?}");
    assert!(got.iter().all(|n| n.len() <= MAX_NAME), "{got:?}");
    assert!(got.contains(&"a__echo".to_owned()) && got.contains(&"b__echo".to_owned()));
    // Identical for another federation built from the same configuration (another node,
    // a restart).
    assert_eq!(names(&federation(NameMode::Prefixed)).await, got);
    // Each routes to its member and original name.
    assert_eq!(call(&f, "b__echo").await.expect("call"), "b:echo");
    assert_eq!(call(&f, "c__echo").await.expect("call"), "c:echo");
    let long_a = got
        .iter()
        .find(|n| n.starts_with("a__ttt"))
        .expect("a's long tool");
    assert_eq!(
        call(&f, long_a).await.expect("call"),
        format!("a:{}", "t".repeat(70))
    );
    let err = call(&f, "nope__echo").await.expect_err("unknown");
    assert_eq!(err.code, -32602);
}

#[tokio::test]
async fn unique_names_may_go_unprefixed() {
    let f = federation(NameMode::UnprefixedWhenUnique);
    let got = names(&f).await;
    assert!(got.contains(&"add".to_owned()), "{got:?}");
    assert!(got.contains(&"only_b".to_owned()), "{got:?}");
    assert!(got.contains(&"a__echo".to_owned()), "{got:?}");
    assert_eq!(call(&f, "only_b").await.expect("call"), "b:only_b");
    assert_eq!(call(&f, "add").await.expect("call"), "a:add");
}

#[tokio::test]
async fn capabilities_merge() {
    let f = federation(NameMode::Prefixed);
    assert_eq!(f.capabilities(), json!({"tools": {"listChanged": true}}));
}

#[test]
fn pages_follow_the_cursor() {
    let items: Vec<Value> = (0..450).map(|i| json!({"name": i})).collect();
    let first = Federation::page(
        &items,
        "tools",
        &Request::new(Id::Number(1), "tools/list", None),
    )
    .expect("page");
    assert_eq!(first["tools"].as_array().map(Vec::len), Some(200));
    let next = first["nextCursor"].as_str().expect("cursor").to_owned();
    let p = json!({"cursor": next});
    let second = Federation::page(
        &items,
        "tools",
        &Request::new(Id::Number(1), "tools/list", p.as_object().cloned()),
    )
    .expect("page");
    assert_eq!(second["tools"][0]["name"], json!(200));
    let p = json!({"cursor": "garbage"});
    let bad = Federation::page(
        &items,
        "tools",
        &Request::new(Id::Number(1), "tools/list", p.as_object().cloned()),
    );
    assert_eq!(bad.map_err(|e| e.code), Err(-32602));
}
