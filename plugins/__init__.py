"""First-party plugins, each written exactly as a third-party plugin would be."""
