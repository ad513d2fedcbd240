//! [`Federation`]: several backends (upstreams, built-ins) behind one endpoint.
//!
//! Tools and prompts are exposed under names that are pure functions of (prefix, name)
//! ([`crate::names`]), so every node and every restart agrees; calls are routed back by a
//! catalog built from the members' lists (every page of each), kept for
//! [`CATALOG_TTL`] on each node and rebuilt when a name is not found in it or a member sent
//! this node a `list_changed`. Resources keep
//! their URIs and are routed by them. Capabilities are merged. A member that cannot be
//! listed keeps what it listed last in that catalog (which is then not kept, so the next
//! request tries again): one upstream down never hides the others, and its own tools stay
//! routed, failing fast with an error naming it. A member without a list (`-32601`) lists
//! nothing.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value, json};
use switchyard_backend::{Backend, Context, ServerInfo, SessionView};
use switchyard_protocol::jsonrpc::{ErrorObject, Id, Notification, Request, code};
use tokio::time::Instant;

use crate::config::NameMode;
use crate::names;
use crate::relay::ListGeneration;

/// How long a node keeps a complete catalog.
pub const CATALOG_TTL: Duration = Duration::from_secs(60);

/// Entries per page of a federated list.
const PAGE: usize = 200;

/// Pages read from one member's list at most.
const MAX_PAGES: usize = 100;

/// One backend behind the federation.
pub struct Member {
    /// Its name (in errors and logs).
    pub name: String,
    /// The prefix of its tools and prompts.
    pub prefix: String,
    /// The backend.
    pub backend: Arc<dyn Backend>,
}

/// Several backends as one.
pub struct Federation {
    members: Vec<Member>,
    separator: String,
    mode: NameMode,
    catalog: tokio::sync::RwLock<Option<(Instant, u64, Arc<Catalog>)>>,
    /// Moves when a member sends `list_changed`: the kept catalog is then stale.
    lists: Arc<ListGeneration>,
    /// What each member listed last, by (member, list method).
    last: std::sync::Mutex<HashMap<(usize, &'static str), Vec<Value>>>,
}

impl std::fmt::Debug for Federation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Federation")
            .field(
                "members",
                &self.members.iter().map(|m| &m.name).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// What the members list, renamed, with the way back.
#[derive(Debug, Default)]
struct Catalog {
    tools: Vec<Value>,
    tool_routes: HashMap<String, (usize, String)>,
    prompts: Vec<Value>,
    prompt_routes: HashMap<String, (usize, String)>,
    resources: Vec<Value>,
    resource_routes: HashMap<String, usize>,
    templates: Vec<Value>,
    /// (member, the template's literal start) for routing reads by URI.
    template_routes: Vec<(usize, String)>,
    complete: bool,
}

/// The part of a URI template before its first expression.
fn literal_start(template: &str) -> &str {
    template.split('{').next().unwrap_or("")
}

impl Federation {
    /// A federation of `members` (in this order: it decides nothing but the order of lists).
    pub fn new(
        members: Vec<Member>,
        separator: &str,
        mode: NameMode,
        lists: Arc<ListGeneration>,
    ) -> Self {
        Self {
            lists,
            members,
            separator: separator.to_owned(),
            mode,
            catalog: tokio::sync::RwLock::new(None),
            last: std::sync::Mutex::new(HashMap::new()),
        }
    }

    fn remember(&self, member: usize, method: &'static str, items: &[Value]) {
        self.last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((member, method), items.to_vec());
    }

    fn recalled(&self, member: usize, method: &'static str) -> Vec<Value> {
        self.last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(member, method))
            .cloned()
            .unwrap_or_default()
    }

    /// Every page of one member's list.
    async fn list_all(
        &self,
        member: usize,
        method: &str,
        field: &str,
        ctx: &Context,
    ) -> Result<Vec<Value>, ErrorObject> {
        let mut items = Vec::new();
        let mut cursor: Option<Value> = None;
        for page in 0..MAX_PAGES {
            let params = cursor.take().map(|c| {
                let mut m = Map::new();
                m.insert("cursor".into(), c);
                m
            });
            let req = Request::new(Id::String(format!("sy-list-{page}")), method, params);
            let result = self.members[member]
                .backend
                .handle(req, ctx.clone())
                .await?;
            if let Some(list) = result.get(field).and_then(Value::as_array) {
                items.extend(list.iter().cloned());
            }
            match result.get("nextCursor") {
                Some(c) if !c.is_null() => cursor = Some(c.clone()),
                _ => break,
            }
        }
        Ok(items)
    }

    fn has(&self, member: usize, capability: &str) -> bool {
        self.members[member]
            .backend
            .capabilities()
            .get(capability)
            .is_some_and(|c| !c.is_null())
    }

    /// Builds the catalog from every member's lists.
    async fn build(&self, ctx: &Context) -> Catalog {
        let mut cat = Catalog {
            complete: true,
            ..Catalog::default()
        };
        let mut tools: Vec<(usize, Value)> = Vec::new();
        let mut prompts: Vec<(usize, Value)> = Vec::new();
        for i in 0..self.members.len() {
            let lists = [
                ("tools", "tools/list", "tools"),
                ("prompts", "prompts/list", "prompts"),
                ("resources", "resources/list", "resources"),
                ("resources", "resources/templates/list", "resourceTemplates"),
            ];
            for (capability, method, field) in lists {
                if !self.has(i, capability) {
                    continue;
                }
                let items = match self.list_all(i, method, field, ctx).await {
                    Ok(items) => {
                        self.remember(i, method, &items);
                        items
                    }
                    // A member without this list (e.g. no templates) lists nothing.
                    Err(e) if e.code == code::METHOD_NOT_FOUND => Vec::new(),
                    Err(e) => {
                        // A member that cannot be listed now keeps what it listed last, so
                        // its calls are still routed (and fail fast, naming it).
                        tracing::warn!(member = %self.members[i].name, method, error = %e.message, "listing failed; serving what it listed last");
                        cat.complete = false;
                        self.recalled(i, method)
                    }
                };
                for item in items {
                    match field {
                        "tools" => tools.push((i, item)),
                        "prompts" => prompts.push((i, item)),
                        "resources" => {
                            if let Some(uri) = item.get("uri").and_then(Value::as_str) {
                                cat.resource_routes.entry(uri.to_owned()).or_insert(i);
                            }
                            cat.resources.push(item);
                        }
                        _ => {
                            if let Some(t) = item.get("uriTemplate").and_then(Value::as_str) {
                                cat.template_routes.push((i, literal_start(t).to_owned()));
                            }
                            cat.templates.push(item);
                        }
                    }
                }
            }
        }
        let (t, tr) = self.rename(tools);
        cat.tools = t;
        cat.tool_routes = tr;
        let (p, pr) = self.rename(prompts);
        cat.prompts = p;
        cat.prompt_routes = pr;
        cat
    }

    /// The exposed names of `items` (tools or prompts) and the way back.
    fn rename(&self, items: Vec<(usize, Value)>) -> (Vec<Value>, HashMap<String, (usize, String)>) {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for (_, item) in &items {
            if let Some(n) = item.get("name").and_then(Value::as_str) {
                *counts.entry(n.to_owned()).or_default() += 1;
            }
        }
        let mut out = Vec::new();
        let mut routes = HashMap::new();
        for (member, mut item) in items {
            let Some(name) = item.get("name").and_then(Value::as_str).map(str::to_owned) else {
                continue;
            };
            let prefix = &self.members[member].prefix;
            let mut exposed = match self.mode {
                NameMode::UnprefixedWhenUnique if counts.get(&name) == Some(&1) => {
                    names::shorten(&name)
                }
                _ => names::prefixed(prefix, &self.separator, &name),
            };
            if routes.contains_key(&exposed) {
                exposed = names::prefixed(prefix, &self.separator, &name);
            }
            if routes.contains_key(&exposed) {
                tracing::warn!(%name, member = %self.members[member].name, "two entries share one exposed name; the later is left out");
                continue;
            }
            item["name"] = json!(exposed);
            routes.insert(exposed, (member, name));
            out.push(item);
        }
        (out, routes)
    }

    /// The catalog: the kept one while fresh, else a new one (kept when complete).
    async fn catalog(&self, ctx: &Context, refresh: bool) -> Arc<Catalog> {
        if !refresh
            && let Some((at, generation, cat)) = &*self.catalog.read().await
            && at.elapsed() < CATALOG_TTL
            && *generation == self.lists.get()
        {
            return cat.clone();
        }
        let generation = self.lists.get();
        let cat = Arc::new(self.build(ctx).await);
        let mut kept = self.catalog.write().await;
        *kept = cat
            .complete
            .then(|| (Instant::now(), generation, cat.clone()));
        cat
    }

    /// Forgets the kept catalog (a member's list changed).
    pub async fn invalidate(&self) {
        *self.catalog.write().await = None;
    }

    /// A page of a federated list.
    fn page(items: &[Value], field: &str, request: &Request) -> Result<Value, ErrorObject> {
        let start = match request.param_str("cursor") {
            None => 0,
            Some(c) => c
                .strip_prefix("sy:")
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| *n <= items.len())
                .ok_or_else(|| ErrorObject::invalid_params("unknown cursor"))?,
        };
        let end = (start + PAGE).min(items.len());
        let mut result = Map::new();
        result.insert(field.into(), Value::Array(items[start..end].to_vec()));
        if end < items.len() {
            result.insert("nextCursor".into(), json!(format!("sy:{end}")));
        }
        Ok(Value::Object(result))
    }

    /// Looks up an exposed tool or prompt name, rebuilding the catalog once if it is not in
    /// the kept one.
    async fn route(&self, ctx: &Context, exposed: &str, prompts: bool) -> Option<(usize, String)> {
        for refresh in [false, true] {
            let cat = self.catalog(ctx, refresh).await;
            let routes = if prompts {
                &cat.prompt_routes
            } else {
                &cat.tool_routes
            };
            if let Some(r) = routes.get(exposed) {
                return Some(r.clone());
            }
        }
        None
    }

    /// Which member serves `uri`: the one listing it, else one whose template starts it.
    async fn route_uri(&self, ctx: &Context, uri: &str) -> Option<usize> {
        let cat = self.catalog(ctx, false).await;
        if let Some(m) = cat.resource_routes.get(uri) {
            return Some(*m);
        }
        cat.template_routes
            .iter()
            .filter(|(_, start)| uri.starts_with(start.as_str()))
            .max_by_key(|(_, start)| start.len())
            .map(|(m, _)| *m)
    }

    /// `request` with its `params.<field>` (or `params.ref.name`) replaced.
    fn renamed(request: &Request, path: &[&str], name: &str) -> Request {
        let mut req = request.clone();
        let mut params = Value::Object(req.params.take().unwrap_or_default());
        let mut at = &mut params;
        for p in &path[..path.len() - 1] {
            at = &mut at[*p];
        }
        at[path[path.len() - 1]] = json!(name);
        req.params = params.as_object().cloned();
        req
    }

    async fn call_routed(
        &self,
        request: &Request,
        ctx: Context,
        prompts: bool,
    ) -> Result<Value, ErrorObject> {
        let what = if prompts { "prompt" } else { "tool" };
        let Some(exposed) = request.param_str("name") else {
            return Err(ErrorObject::invalid_params("params.name is required"));
        };
        let Some((member, name)) = self.route(&ctx, exposed, prompts).await else {
            return Err(ErrorObject::invalid_params(format!(
                "Unknown {what}: {exposed}"
            )));
        };
        let req = Self::renamed(request, &["name"], &name);
        self.members[member].backend.handle(req, ctx).await
    }
}

/// Merges capability objects: the union of their keys, and of flags such as `listChanged`.
fn merge_capabilities(all: impl Iterator<Item = Value>) -> Value {
    let mut merged = Map::new();
    for caps in all {
        let Value::Object(caps) = caps else { continue };
        for (k, v) in caps {
            match (merged.get_mut(&k), v) {
                (Some(Value::Object(have)), Value::Object(more)) => {
                    for (f, fv) in more {
                        let keep = have.get(&f).is_some_and(|x| x == &json!(true));
                        if !keep {
                            have.insert(f, fv);
                        }
                    }
                }
                (Some(_), _) => {}
                (None, v) => {
                    merged.insert(k, v);
                }
            }
        }
    }
    Value::Object(merged)
}

#[async_trait]
impl Backend for Federation {
    fn info(&self) -> ServerInfo {
        ServerInfo {
            name: "switchyard".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            title: Some(format!(
                "Switchyard gateway ({})",
                self.members
                    .iter()
                    .map(|m| m.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    fn capabilities(&self) -> Value {
        merge_capabilities(self.members.iter().map(|m| m.backend.capabilities()))
    }

    fn instructions(&self) -> Option<String> {
        let parts: Vec<String> = self
            .members
            .iter()
            .filter_map(|m| {
                m.backend.instructions().map(|i| {
                    format!(
                        "{} (tools and prompts prefixed {}{}): {i}",
                        m.name, m.prefix, self.separator
                    )
                })
            })
            .collect();
        (!parts.is_empty()).then(|| parts.join("\n\n"))
    }

    async fn handle(&self, request: Request, ctx: Context) -> Result<Value, ErrorObject> {
        match request.method.as_str() {
            "tools/list" => {
                let cat = self.catalog(&ctx, false).await;
                Self::page(&cat.tools, "tools", &request)
            }
            "prompts/list" => {
                let cat = self.catalog(&ctx, false).await;
                Self::page(&cat.prompts, "prompts", &request)
            }
            "resources/list" => {
                let cat = self.catalog(&ctx, false).await;
                Self::page(&cat.resources, "resources", &request)
            }
            "resources/templates/list" => {
                let cat = self.catalog(&ctx, false).await;
                Self::page(&cat.templates, "resourceTemplates", &request)
            }
            "tools/call" => self.call_routed(&request, ctx, false).await,
            "prompts/get" => self.call_routed(&request, ctx, true).await,
            "resources/read" => {
                let Some(uri) = request.param_str("uri").map(str::to_owned) else {
                    return Err(ErrorObject::invalid_params("params.uri is required"));
                };
                match self.route_uri(&ctx, &uri).await {
                    Some(m) => self.members[m].backend.handle(request, ctx).await,
                    None => Err(ErrorObject::new(
                        code::RESOURCE_NOT_FOUND,
                        format!("Resource not found: {uri}"),
                    )
                    .with_data(json!({"uri": uri}))),
                }
            }
            "completion/complete" => {
                let reference = request
                    .params
                    .as_ref()
                    .and_then(|p| p.get("ref"))
                    .cloned()
                    .unwrap_or(Value::Null);
                match reference.get("type").and_then(Value::as_str) {
                    Some("ref/prompt") => {
                        let exposed = reference.get("name").and_then(Value::as_str).unwrap_or("");
                        let Some((m, name)) = self.route(&ctx, exposed, true).await else {
                            return Err(ErrorObject::invalid_params(format!(
                                "Unknown prompt: {exposed}"
                            )));
                        };
                        let req = Self::renamed(&request, &["ref", "name"], &name);
                        self.members[m].backend.handle(req, ctx).await
                    }
                    Some("ref/resource") => {
                        let uri = reference.get("uri").and_then(Value::as_str).unwrap_or("");
                        match self.route_uri(&ctx, uri).await {
                            Some(m) => self.members[m].backend.handle(request, ctx).await,
                            None => Ok(json!({"completion": {"values": [], "hasMore": false}})),
                        }
                    }
                    _ => Err(ErrorObject::invalid_params(
                        "params.ref must be a ref/prompt or a ref/resource",
                    )),
                }
            }
            other => Err(ErrorObject::method_not_found(other)),
        }
    }

    async fn notification(&self, notification: Notification, ctx: Context) {
        for m in &self.members {
            m.backend
                .notification(notification.clone(), ctx.clone())
                .await;
        }
    }

    async fn session_closed(&self, session: &SessionView) {
        for m in &self.members {
            m.backend.session_closed(session).await;
        }
    }
}

#[cfg(test)]
mod tests;
