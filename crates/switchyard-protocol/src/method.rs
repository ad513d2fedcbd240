//! MCP method names, as a type: every method the node treats specially is a [`Method`], and
//! its wire name is written once, here.
//!
//! A message's `method` stays a `String` on the wire types (a backend may serve methods this
//! list does not name); [`Method::parse`] and [`crate::jsonrpc::Request::is`] are how code
//! asks which one it is.

use std::fmt;

macro_rules! methods {
    ($($(#[$doc:meta])* $variant:ident = $wire:literal,)*) => {
        /// An MCP method (requests and notifications, both directions, every era served).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Method {
            $($(#[$doc])* $variant,)*
        }

        impl Method {
            /// Every method named here.
            pub const ALL: &'static [Method] = &[$(Method::$variant,)*];

            /// The wire name, e.g. `"tools/call"`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Method::$variant => $wire,)*
                }
            }

            /// The method a wire name names, if it is one of these.
            pub fn parse(name: &str) -> Option<Method> {
                match name {
                    $($wire => Some(Method::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

methods! {
    /// Opens a session (the session eras only).
    Initialize = "initialize",
    /// Either side checks the other is alive.
    Ping = "ping",
    /// 2026-07-28: what the server speaks and offers, without a session.
    ServerDiscover = "server/discover",
    /// The client sets the level of log messages it wants.
    LoggingSetLevel = "logging/setLevel",
    /// Lists the server's tools.
    ToolsList = "tools/list",
    /// Calls a tool.
    ToolsCall = "tools/call",
    /// Lists the server's prompts.
    PromptsList = "prompts/list",
    /// Gets a prompt.
    PromptsGet = "prompts/get",
    /// Lists the server's resources.
    ResourcesList = "resources/list",
    /// Lists the server's resource templates.
    ResourcesTemplatesList = "resources/templates/list",
    /// Reads a resource.
    ResourcesRead = "resources/read",
    /// Subscribes the session to a resource's updates.
    ResourcesSubscribe = "resources/subscribe",
    /// Ends that subscription.
    ResourcesUnsubscribe = "resources/unsubscribe",
    /// Argument completion.
    CompletionComplete = "completion/complete",
    /// 2026-07-28: a long-lived stream of the change notices the client subscribes to.
    SubscriptionsListen = "subscriptions/listen",
    /// Server → client: asks the user for input.
    ElicitationCreate = "elicitation/create",
    /// Server → client: asks the client's model for a completion.
    SamplingCreateMessage = "sampling/createMessage",
    /// Server → client: asks for the client's roots.
    RootsList = "roots/list",
    /// The client finished initializing.
    NotificationsInitialized = "notifications/initialized",
    /// Either side gives up on a request.
    NotificationsCancelled = "notifications/cancelled",
    /// Progress of a request.
    NotificationsProgress = "notifications/progress",
    /// A log message.
    NotificationsMessage = "notifications/message",
    /// A subscribed resource changed.
    NotificationsResourcesUpdated = "notifications/resources/updated",
    /// The resource list changed.
    NotificationsResourcesListChanged = "notifications/resources/list_changed",
    /// The tool list changed.
    NotificationsToolsListChanged = "notifications/tools/list_changed",
    /// The prompt list changed.
    NotificationsPromptsListChanged = "notifications/prompts/list_changed",
    /// The client's roots changed.
    NotificationsRootsListChanged = "notifications/roots/list_changed",
    /// 2026-07-28: a `subscriptions/listen` stream is subscribed.
    NotificationsSubscriptionsAcknowledged = "notifications/subscriptions/acknowledged",
}

impl Method {
    /// The `list_changed` notice for a list kind (`"tools"`, `"prompts"`, `"resources"`).
    pub fn list_changed(kind: &str) -> Option<Method> {
        match kind {
            "tools" => Some(Method::NotificationsToolsListChanged),
            "prompts" => Some(Method::NotificationsPromptsListChanged),
            "resources" => Some(Method::NotificationsResourcesListChanged),
            _ => None,
        }
    }

    /// The list a `list_changed` notice is about; `None` for any other method.
    pub fn changed_list(self) -> Option<&'static str> {
        match self {
            Method::NotificationsToolsListChanged => Some("tools"),
            Method::NotificationsPromptsListChanged => Some("prompts"),
            Method::NotificationsResourcesListChanged => Some("resources"),
            _ => None,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<Method> for str {
    fn eq(&self, m: &Method) -> bool {
        self == m.as_str()
    }
}

impl PartialEq<Method> for String {
    fn eq(&self, m: &Method) -> bool {
        self.as_str() == m.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_round_trips_and_names_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for m in Method::ALL {
            assert_eq!(Method::parse(m.as_str()), Some(*m));
            assert!(seen.insert(m.as_str()), "{m} twice");
        }
        assert_eq!(Method::parse("tools/calls"), None);
        assert_eq!(Method::parse(""), None);
    }

    #[test]
    fn notifications_are_named_as_notifications() {
        for m in Method::ALL {
            let variant = format!("{m:?}");
            assert_eq!(
                variant.starts_with("Notifications"),
                m.as_str().starts_with("notifications/"),
                "{variant} = {m}"
            );
        }
    }

    #[test]
    fn list_changed_names_each_list() {
        for kind in ["tools", "prompts", "resources"] {
            let m = Method::list_changed(kind).unwrap();
            assert_eq!(m.as_str(), format!("notifications/{kind}/list_changed"));
            assert_eq!(m.changed_list(), Some(kind));
        }
        let lists = Method::ALL.iter().filter(|m| m.changed_list().is_some());
        assert_eq!(lists.count(), 3);
        assert_eq!(Method::list_changed("roots-ish"), None);
    }

    #[test]
    fn a_string_compares_with_a_method() {
        assert!(*"tools/call" == Method::ToolsCall);
        let ping = String::from("ping");
        assert!(ping == Method::Ping);
        assert!(ping != Method::ToolsCall);
    }
}
