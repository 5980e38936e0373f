"""Outside channels (Shopify, WhatsApp, Telegram, ...) behind one contract: ``connectors.base``."""
