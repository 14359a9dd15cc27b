//! What a plugin says about itself.

/// Name, version, needed fields and channels of a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// Short name, `[a-z0-9-]+`.
    pub name: &'static str,
    /// The plugin's version.
    pub version: &'static str,
    /// Fields besides the message that the plugin reads.
    pub needs: &'static [&'static str],
    /// Parser output channels, referred to by position in [`crate::Emit`].
    pub channels: &'static [&'static str],
}

impl Info {
    /// A plugin that needs only the message and has no channels.
    pub const fn new(name: &'static str, version: &'static str) -> Self {
        Self {
            name,
            version,
            needs: &[],
            channels: &[],
        }
    }

    /// Declares the fields the plugin reads (see the contract for names).
    pub const fn needs(mut self, needs: &'static [&'static str]) -> Self {
        self.needs = needs;
        self
    }

    /// Declares the parser's output channels.
    pub const fn channels(mut self, channels: &'static [&'static str]) -> Self {
        self.channels = channels;
        self
    }
}
