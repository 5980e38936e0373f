"""Model providers behind one interface: :class:`assistant.providers.base.Provider`."""
