//! Who may connect: `root` with the configured password.

use borealis_protocol::Authenticator;

/// Users known to one instance.
pub struct Users {
    root_password: String,
}

impl Users {
    pub fn new(root_password: String) -> Self {
        Users { root_password }
    }
}

impl Authenticator for Users {
    fn password(&self, user: &str) -> Option<String> {
        (user == "root").then(|| self.root_password.clone())
    }
}
