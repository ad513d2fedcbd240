//! `Mcp-Param-*` headers: a tool whose input schema marks a property with `x-mcp-header`
//! must be called with that header, equal to the argument (after Base64-sentinel decoding).
//! The `everything` fixture has such a tool; the test finds it in `tools/list`.

use reqwest::StatusCode;
use serde_json::{Map, Value, json};

use crate::modern_support::{
    HEADER_MISMATCH, assert_rejected, modern, modern_answer, result_of, sentinel, set,
};
use crate::support::Wire;

/// A tool with a string property mirrored into a header.
struct Mirrored {
    tool: String,
    property: String,
    header: String,
    /// Values for the tool's other required arguments.
    others: Map<String, Value>,
    /// Headers those other arguments need.
    other_headers: Vec<(String, String)>,
}

async fn find_mirrored_tool(wire: &Wire) -> Mirrored {
    let list = wire.modern_call(&modern(1, "tools/list", json!({}))).await;
    let tools = list["result"]["tools"].as_array().expect("tools");
    for tool in tools {
        let schema = &tool["inputSchema"];
        let Some(props) = schema["properties"].as_object() else {
            continue;
        };
        let Some((property, spec)) = props
            .iter()
            .find(|(_, p)| p["type"] == "string" && p["x-mcp-header"].is_string())
        else {
            continue;
        };
        let mut others = Map::new();
        let mut other_headers = Vec::new();
        for required in schema["required"].as_array().into_iter().flatten() {
            let name = required.as_str().unwrap();
            if name == property {
                continue;
            }
            let p = &props[name];
            let value = match p["type"].as_str() {
                Some("integer" | "number") => json!(0),
                Some("boolean") => json!(false),
                _ => json!("test-default"),
            };
            if let Some(h) = p["x-mcp-header"].as_str() {
                let text = match &value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                other_headers.push((format!("mcp-param-{h}"), text));
            }
            others.insert(name.to_owned(), value);
        }
        return Mirrored {
            tool: tool["name"].as_str().unwrap().to_owned(),
            property: property.clone(),
            header: format!("mcp-param-{}", spec["x-mcp-header"].as_str().unwrap()),
            others,
            other_headers,
        };
    }
    panic!("no tool of the fixture has a string property with x-mcp-header: {list}");
}

impl Mirrored {
    /// A call with the mirrored property set to `value` (absent for `None`).
    fn call(&self, id: i64, value: Option<&str>) -> Value {
        let mut args = self.others.clone();
        if let Some(v) = value {
            args.insert(self.property.clone(), json!(v));
        }
        modern(
            id,
            "tools/call",
            json!({"name": self.tool, "arguments": args}),
        )
    }

    /// Sends `body` with the mirrored header set to `header` (absent for `None`).
    async fn send(&self, wire: &Wire, body: &Value, header: Option<&str>) -> reqwest::Response {
        wire.post_modern_edited(body, |h| {
            for (name, value) in &self.other_headers {
                set(h, name, value);
            }
            if let Some(v) = header {
                set(h, &self.header, v);
            }
        })
        .send()
        .await
        .unwrap()
    }

    /// Checks the node served the call (whatever the tool made of its arguments).
    async fn accepted(&self, wire: &Wire, id: i64, body_value: &str, header: &str) {
        let body = self.call(id, Some(body_value));
        let response = self.send(wire, &body, Some(header)).await;
        let answer = modern_answer(response, &body).await;
        result_of(&answer);
    }

    async fn rejected(
        &self,
        wire: &Wire,
        id: i64,
        body_value: Option<&str>,
        header: Option<&str>,
        case: &str,
    ) {
        let body = self.call(id, body_value);
        let response = self.send(wire, &body, header).await;
        assert_rejected(
            response,
            &body,
            StatusCode::BAD_REQUEST,
            HEADER_MISMATCH,
            case,
        )
        .await;
    }
}

#[tokio::test]
async fn mirrored_parameters_are_checked_against_the_body() {
    let wire = Wire::start("everything");
    let m = find_mirrored_tool(&wire).await;

    // Accepted: the literal value, its sentinel, a sentinel of what a header cannot carry,
    // and values that merely look like Base64 (no sentinel: taken literally).
    m.accepted(&wire, 1, "Hello", "Hello").await;
    m.accepted(&wire, 2, "Hello", &sentinel("Hello")).await;
    m.accepted(&wire, 3, "Hello, 世界", &sentinel("Hello, 世界"))
        .await;
    m.accepted(&wire, 4, " padded ", &sentinel(" padded "))
        .await;
    m.accepted(&wire, 5, "SGVsbG8=", "SGVsbG8=").await;
    m.accepted(&wire, 6, "=?base64?SGVsbG8=", "=?base64?SGVsbG8=")
        .await;

    // Rejected with -32020.
    m.rejected(
        &wire,
        10,
        Some("Hello"),
        None,
        "header omitted, value in body",
    )
    .await;
    m.rejected(&wire, 11, Some("Hello"), Some("Goodbye"), "another value")
        .await;
    m.rejected(
        &wire,
        12,
        Some("Hello"),
        Some("hello"),
        "values are case-sensitive",
    )
    .await;
    m.rejected(
        &wire,
        13,
        Some("Hello"),
        Some(&sentinel("Goodbye")),
        "a sentinel of another value",
    )
    .await;
    m.rejected(
        &wire,
        14,
        Some("Hello"),
        Some("=?base64?SGVsbG8?="),
        "bad Base64 padding",
    )
    .await;
    m.rejected(
        &wire,
        15,
        Some("Hello"),
        Some("=?base64?SGVs!!!bG8=?="),
        "bad Base64 characters",
    )
    .await;
    m.rejected(
        &wire,
        16,
        None,
        Some("Hello"),
        "header with no value in the body",
    )
    .await;
}
