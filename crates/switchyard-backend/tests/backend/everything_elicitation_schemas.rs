//! The SEP-1034 (defaults) and SEP-1330 (enums) elicitation schemas, checked field by field.

use serde_json::{Value, json};

use crate::support::everything as harness;

#[tokio::test]
async fn sep1034_every_field_has_its_default() {
    let h = harness();
    *h.client.elicitation_answer.lock().unwrap() = json!({ "action": "decline" });
    let out = h
        .call_tool("test_elicitation_sep1034_defaults", json!({}))
        .await;
    let params = h.only_request(&out, "elicitation/create");
    let props = &params["requestedSchema"]["properties"];
    let expect = [
        ("name", "string", json!("John Doe")),
        ("age", "integer", json!(30)),
        ("score", "number", json!(95.5)),
        ("status", "string", json!("active")),
        ("verified", "boolean", json!(true)),
    ];
    for (field, ty, default) in expect {
        assert_eq!(props[field]["type"], ty, "{field}");
        assert_eq!(props[field]["default"], default, "{field}");
    }
    assert_eq!(
        props["status"]["enum"],
        json!(["active", "inactive", "pending"])
    );
    assert_eq!(props.as_object().unwrap().len(), 5);
    assert!(
        out.text()
            .starts_with("Elicitation completed: action=decline")
    );
}

fn consts(options: &Value) -> Vec<&str> {
    let options = options.as_array().expect("an array of options");
    assert!(
        options.iter().all(|o| o["title"].is_string()),
        "every option has a title"
    );
    options
        .iter()
        .map(|o| o["const"].as_str().expect("a string const"))
        .collect()
}

#[tokio::test]
async fn sep1330_uses_all_five_enum_styles() {
    let h = harness();
    let out = h
        .call_tool("test_elicitation_sep1330_enums", json!({}))
        .await;
    let params = h.only_request(&out, "elicitation/create");
    let p = &params["requestedSchema"]["properties"];

    assert_eq!(p["untitledSingle"]["type"], "string");
    assert_eq!(
        p["untitledSingle"]["enum"],
        json!(["option1", "option2", "option3"])
    );
    assert!(
        p["untitledSingle"].get("oneOf").is_none()
            && p["untitledSingle"].get("enumNames").is_none()
    );

    assert_eq!(p["titledSingle"]["type"], "string");
    assert!(consts(&p["titledSingle"]["oneOf"]).contains(&"value1"));
    assert!(p["titledSingle"].get("enum").is_none());

    assert_eq!(p["legacyEnum"]["type"], "string");
    assert_eq!(p["legacyEnum"]["enum"], json!(["opt1", "opt2", "opt3"]));
    assert_eq!(p["legacyEnum"]["enumNames"].as_array().unwrap().len(), 3);

    assert_eq!(p["untitledMulti"]["type"], "array");
    assert_eq!(p["untitledMulti"]["items"]["type"], "string");
    assert_eq!(
        p["untitledMulti"]["items"]["enum"],
        json!(["option1", "option2", "option3"])
    );

    assert_eq!(p["titledMulti"]["type"], "array");
    let multi = consts(&p["titledMulti"]["items"]["anyOf"]);
    assert!(multi.contains(&"value1") && multi.contains(&"value2"));
    assert!(p["titledMulti"]["items"].get("enum").is_none());
    assert!(
        out.text()
            .starts_with("Elicitation completed: action=accept")
    );
}
