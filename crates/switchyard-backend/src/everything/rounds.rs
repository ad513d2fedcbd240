//! The `test_input_required_result_*` tools and prompt: requests that ask the client, shaped
//! for the 2026-07-28 multi round-trip flow (SEP-2322) and served unchanged in the session
//! eras (where each question becomes a request on the response stream).
//!
//! In the stateless revision a handler here may run several times for one logical request:
//! the node stops it at the first unanswered question, answers `input_required`, and runs
//! it again from the start on the retry. So every question has a fixed key, independent
//! questions go out together through `request_all`, and nothing happens before the last
//! answer is in except asking.

use serde_json::{Value, json};
use switchyard_protocol::jsonrpc::ErrorObject;

use super::answers::{
    ask_field, ask_model, ask_roots, bool_field, elicited, roots, sampled, text_field,
};
use super::{require, text, tool_result};
use crate::{Context, InputRequest};

/// The prefix of every tool here.
pub(super) const PREFIX: &str = "test_input_required_result_";

/// The prompt that asks before it answers.
pub(super) const PROMPT: &str = "test_input_required_result_prompt";

/// The tools, for `tools/list`.
pub(super) fn catalogue() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "elicitation",
            "Asks the user's name (key user_name), then greets them.",
        ),
        (
            "sampling",
            "Asks the client's model a question (key capital_question).",
        ),
        (
            "list_roots",
            "Asks for the client's roots (key client_roots, roots/list).",
        ),
        (
            "request_state",
            "Asks for a confirmation (key confirm); answers state-ok.",
        ),
        (
            "multiple_inputs",
            "Asks a name, a model greeting and the roots in one round (user_name, greeting, \
             client_roots).",
        ),
        (
            "multi_round",
            "Asks a name (step1), then in a second round a favourite colour (step2).",
        ),
        (
            "capabilities",
            "Asks only what the client declared: elicitation (user_name), sampling (greeting).",
        ),
        (
            "tampered_state",
            "Asks for a confirmation (key confirm); a tampered requestState is refused.",
        ),
    ]
}

/// `tools/call` of one of the tools here (`suffix` is the name without [`PREFIX`]).
pub(super) async fn call(suffix: &str, ctx: &Context) -> Result<Value, ErrorObject> {
    let needs: &[&str] = match suffix {
        "sampling" => &["sampling"],
        "list_roots" => &["roots"],
        "multiple_inputs" => &["elicitation", "sampling", "roots"],
        "capabilities" => &[],
        "elicitation" | "request_state" | "tampered_state" | "multi_round" => &["elicitation"],
        other => return Err(unknown(other)),
    };
    require(ctx, needs)?;
    match suffix {
        "elicitation" => elicitation(ctx).await,
        "sampling" => {
            let q = ask_model("capital_question", "What is the capital of France?", 100);
            let answer = sampled("capital_question", &ask(ctx, q).await?)?;
            done(format!("The client's model answered: {answer}"))
        }
        "list_roots" => {
            let uris = roots("client_roots", &ask(ctx, ask_roots("client_roots")).await?)?;
            done(describe_roots(&uris))
        }
        "request_state" => confirm(ctx, "state-ok").await,
        "tampered_state" => confirm(ctx, "state-ok (tampered-state probe)").await,
        "multiple_inputs" => {
            let mut questions = vec![name_question("user_name", "What is your name?")];
            questions.push(ask_model("greeting", "Generate a greeting", 50));
            questions.push(ask_roots("client_roots"));
            answer_all(ctx, questions).await
        }
        "capabilities" => {
            let mut questions = Vec::new();
            if ctx.client_supports("elicitation") {
                questions.push(name_question("user_name", "What is your name?"));
            }
            if ctx.client_supports("sampling") {
                questions.push(ask_model("greeting", "Generate a greeting", 50));
            }
            if questions.is_empty() {
                return done(
                    "The client declared neither elicitation nor sampling: nothing to ask",
                );
            }
            answer_all(ctx, questions).await
        }
        "multi_round" => multi_round(ctx).await,
        other => Err(unknown(other)),
    }
}

fn unknown(suffix: &str) -> ErrorObject {
    ErrorObject::invalid_params(format!("Unknown tool: {PREFIX}{suffix}"))
}

/// `prompts/get test_input_required_result_prompt`: asks for context, then builds messages.
pub(super) async fn prompt(ctx: &Context) -> Result<Value, ErrorObject> {
    require(ctx, &["elicitation"])?;
    let q = ask_field(
        "user_context",
        "What context should the prompt use?",
        "context",
        "string",
    );
    let answer = ask(ctx, q).await?;
    let instruction = match elicited("user_context", &answer)? {
        Some(content) => {
            let context = text_field("user_context", content, "context")?;
            format!("Answer with this context in mind: {context}")
        }
        None => "Answer without any particular context (the user gave none).".to_owned(),
    };
    Ok(json!({
        "description": "A prompt built from context the user supplied",
        "messages": [ { "role": "user", "content": { "type": "text", "text": instruction } } ]
    }))
}

fn name_question(key: &str, message: &str) -> InputRequest {
    ask_field(key, message, "name", "string")
}

fn done(message: impl Into<String>) -> Result<Value, ErrorObject> {
    Ok(tool_result(vec![text(message)]))
}

async fn ask(ctx: &Context, q: InputRequest) -> Result<Value, ErrorObject> {
    ctx.request_keyed(&q.key, &q.method, q.params).await
}

/// The accepted `name`, or `None` when the user would not say.
fn name(key: &str, answer: &Value) -> Result<Option<String>, ErrorObject> {
    elicited(key, answer)?
        .map(|c| text_field(key, c, "name").map(str::to_owned))
        .transpose()
}

async fn elicitation(ctx: &Context) -> Result<Value, ErrorObject> {
    let answer = ask(ctx, name_question("user_name", "What is your name?")).await?;
    match name("user_name", &answer)? {
        Some(n) => done(format!("Hello, {n}!")),
        None => done("Hello, stranger: you chose not to give a name."),
    }
}

async fn confirm(ctx: &Context, label: &str) -> Result<Value, ErrorObject> {
    let answer = ask(ctx, ask_field("confirm", "Please confirm", "ok", "boolean")).await?;
    let confirmed = match elicited("confirm", &answer)? {
        Some(content) => bool_field("confirm", content, "ok")?,
        None => false,
    };
    done(format!("{label}: confirmed={confirmed}"))
}

/// Asks every question in one round, then describes each answer in order.
async fn answer_all(ctx: &Context, questions: Vec<InputRequest>) -> Result<Value, ErrorObject> {
    let keys: Vec<(String, String)> = questions
        .iter()
        .map(|q| (q.key.clone(), q.method.clone()))
        .collect();
    let answers = ctx.request_all(questions).await;
    let mut lines = Vec::with_capacity(keys.len());
    for ((key, method), answer) in keys.iter().zip(answers) {
        let answer = answer?;
        lines.push(match method.as_str() {
            "elicitation/create" => match name(key, &answer)? {
                Some(n) => format!("{key}: {n}"),
                None => format!("{key}: (declined)"),
            },
            "sampling/createMessage" => format!("{key}: {}", sampled(key, &answer)?),
            _ => format!("{key}: {}", describe_roots(&roots(key, &answer)?)),
        });
    }
    done(format!("All inputs received. {}", lines.join("; ")))
}

/// Two rounds: the colour question is only asked once the name is known.
async fn multi_round(ctx: &Context) -> Result<Value, ErrorObject> {
    let first = ask(ctx, name_question("step1", "Step 1: What is your name?")).await?;
    let Some(who) = name("step1", &first)? else {
        return done("Step 1 declined: nothing more to ask.");
    };
    let q = ask_field(
        "step2",
        "Step 2: What is your favorite color?",
        "color",
        "string",
    );
    let second = ask(ctx, q).await?;
    match elicited("step2", &second)? {
        Some(content) => {
            let color = text_field("step2", content, "color")?;
            done(format!("{who}'s favorite color is {color}."))
        }
        None => done(format!("{who} kept their favorite color to themselves.")),
    }
}

fn describe_roots(uris: &[String]) -> String {
    if uris.is_empty() {
        "the client shares no roots".to_owned()
    } else {
        format!("roots {}", uris.join(", "))
    }
}
