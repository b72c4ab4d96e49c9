//! The client commands: register, list, show, update, rotate the secret, delete.

use serde::{Deserialize, Serialize};

use super::Command;
use crate::service::clients::{self, NewClient};
use crate::service::views::{ClientCreated, ClientView};
use crate::service::{App, ServiceError};

/// Registers a client; a confidential client's secret is in the answer, and only there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientAdd {
    pub client: NewClient,
}

impl Command for ClientAdd {
    type Output = ClientCreated;
    const NAME: &'static str = "client add";

    fn audit_action(&self) -> Option<&'static str> {
        Some("client.create")
    }

    fn target(&self) -> Option<String> {
        Some(self.client.client_id.clone())
    }

    async fn run(self, app: &App) -> Result<ClientCreated, ServiceError> {
        clients::add(app, self.client).await
    }
}

/// Lists every client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientList {}

impl Command for ClientList {
    type Output = Vec<ClientView>;
    const NAME: &'static str = "client list";

    async fn run(self, app: &App) -> Result<Vec<ClientView>, ServiceError> {
        clients::list(app).await
    }
}

/// Shows one client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientShow {
    pub client_id: String,
}

impl Command for ClientShow {
    type Output = ClientView;
    const NAME: &'static str = "client show";

    fn target(&self) -> Option<String> {
        Some(self.client_id.clone())
    }

    async fn run(self, app: &App) -> Result<ClientView, ServiceError> {
        clients::get(app, self.client_id).await
    }
}

/// Deletes a client, with everything issued to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientDelete {
    pub client_id: String,
}

impl Command for ClientDelete {
    type Output = ClientView;
    const NAME: &'static str = "client delete";

    fn audit_action(&self) -> Option<&'static str> {
        Some("client.delete")
    }

    fn target(&self) -> Option<String> {
        Some(self.client_id.clone())
    }

    async fn run(self, app: &App) -> Result<ClientView, ServiceError> {
        clients::delete(app, self.client_id).await
    }
}

/// Gives a confidential client a new secret; the old one stops working.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientRotateSecret {
    pub client_id: String,
}

impl Command for ClientRotateSecret {
    type Output = ClientCreated;
    const NAME: &'static str = "client rotate-secret";

    fn audit_action(&self) -> Option<&'static str> {
        Some("client.rotate_secret")
    }

    fn target(&self) -> Option<String> {
        Some(self.client_id.clone())
    }

    async fn run(self, app: &App) -> Result<ClientCreated, ServiceError> {
        clients::rotate_secret(app, self.client_id).await
    }
}

/// Changes a client's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientUpdate {
    pub client_id: String,
    pub change: clients::ClientUpdate,
}

impl Command for ClientUpdate {
    type Output = ClientView;
    const NAME: &'static str = "client update";

    fn audit_action(&self) -> Option<&'static str> {
        Some("client.update")
    }

    fn target(&self) -> Option<String> {
        Some(self.client_id.clone())
    }

    async fn run(self, app: &App) -> Result<ClientView, ServiceError> {
        clients::update(app, self.client_id, self.change).await
    }
}
